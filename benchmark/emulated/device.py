"""The emulated device process: serves the adbd protocol on 127.0.0.1:PORT for one device root and phone,
and cools its thermal zones over time."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from benchmark.emulated import binfmt, tree
from benchmark.emulated.phone import PhoneSpec
from benchmark.emulated.sandbox import Sandbox
from benchmark.emulated.shell_service import parse_service, serve_shell
from benchmark.emulated.sync_service import serve_sync
from benchmark.emulated.transport import ServiceHandler, Stream, Transport

log = logging.getLogger(__name__)
FEATURES = "shell_v2,cmd,fixed_push_mkdir"
COOL_INTERVAL_S = 0.5


class EmulatedDevice:
    def __init__(self, phone: PhoneSpec, sandbox: Sandbox) -> None:
        self.phone = phone
        self.sandbox = sandbox
        props = phone.props
        state = "recovery" if phone.state == "recovery" else "device"
        self.banner = (
            f"{state}::ro.product.name={props.get('ro.product.name', 'emulated')};"
            f"ro.product.model={props.get('ro.product.model', 'Emulated')};"
            f"ro.product.device={props.get('ro.product.device', 'emulated')};features={FEATURES}"
        )

    def open_service(self, service: str) -> ServiceHandler | None:
        if service.startswith("sync:"):

            async def sync(stream: Stream, _service: str) -> None:
                await serve_sync(stream, self.sandbox, self.phone.storage)

            return sync
        parsed = parse_service(service)
        if parsed is None:
            return None
        v2, cmd = parsed

        async def shell(stream: Stream, _service: str) -> None:
            await serve_shell(stream, self.sandbox, v2, cmd)

        return shell

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        auth = "unauthorized" if self.phone.state == "unauthorized" else "none"
        await Transport(reader, writer, banner=self.banner, auth_mode=auth, open_service=self.open_service).run()

    async def _cool(self) -> None:
        while True:
            await asyncio.sleep(COOL_INTERVAL_S)
            tree.cool(self.sandbox.root, self.phone, COOL_INTERVAL_S)

    async def serve(self, port: int) -> None:
        server = await asyncio.start_server(self._client, "127.0.0.1", port)
        actual = server.sockets[0].getsockname()[1]
        print(f"emulated device {self.phone.name} listening on 127.0.0.1:{actual}", flush=True)
        cooler = asyncio.create_task(self._cool())
        try:
            async with server:
                await server.serve_forever()
        finally:
            cooler.cancel()


def run_device(phone: PhoneSpec, root: Path, port: int, *, chroot: bool = False) -> None:
    tree.build_tree(root, phone)
    env: dict[str, str] = {}
    if chroot:
        from benchmark.emulated.namespace import setup_mounts

        setup_mounts(root)
    if phone.qemu is not None:
        if not chroot:
            raise binfmt.QemuSetupError(
                f"the ARM emulated phone {phone.name} runs aarch64 programs through binfmt_misc in its own user "
                "namespace, which plain mode (--isolate no, or a kernel without user namespaces) does not have"
            )
        binfmt.register(phone.qemu, root)
        env = binfmt.shell_env(phone.qemu)
    device = EmulatedDevice(phone, Sandbox(root, chroot=chroot, env=env))
    asyncio.run(device.serve(port))
