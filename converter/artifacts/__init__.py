"""What a conversion leaves for the rest of the toolkit and the app: manifest.json (written atomically, validated
against its types) and model_spec.json (the app's preprocessing and output contract)."""
