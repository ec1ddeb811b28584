"""An emulated Android device that speaks the adbd transport protocol to the real adb server.

It exists so the harness can be tested end to end without a phone: `adb connect 127.0.0.1:PORT` registers it, and
adbutils' shell/shell2/sync calls reach a real shell and a real file tree laid out like Android's. Its runner
(benchmark.emulated.runner) honours benchmark_bin's command line and really runs Paddle-Lite x86 on the x86 `.nb`;
its timings are host timings, and every record made through it says so.
"""
