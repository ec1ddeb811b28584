"""Where a model comes from and what its folder holds: the zoo's download / cache / local folders (fetch, archives),
the program/params pair and preprocessing files of a folder (legacy programs, Paddle 3 PIR, deploy.yaml,
inference.yml), and the value types of a conversion (ModelSpec, ModelSources, settings)."""
