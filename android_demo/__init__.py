"""The Android demo app's host-side tooling: the tool chain (aapt2, javac, dx, zipalign, apksigner), the APK
build, the Java unit tests on the host JVM, and the install on a device. The app's sources are under src/."""
