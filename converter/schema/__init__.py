"""The toolkit's typed data: the zoo file (configs/zoo.yaml -> ZooModel, Tolerance, ...) and the manifest's types
(build/models/<model>/manifest.json). No I/O beyond reading the zoo, no Paddle."""
