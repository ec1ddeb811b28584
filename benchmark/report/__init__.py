"""`python -m benchmark report`: one HTML page (self-contained, images embedded) and a Markdown twin from every run
file under build/reports/ and the conversion manifests under build/models/."""
