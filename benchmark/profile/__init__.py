"""The ARM cost profile: guest instructions per inference attributed to each op and kernel family of a `.nb`, on
an ARM emulated phone (QEMU plugin `insnprofile`), and the phone-latency estimate built on it."""
