#!/usr/bin/env bash
# The CUDA backend's GPU check, for a machine with an NVIDIA GPU, a driver, Python with
# PyTorch, and no Node.js or network (see ../../../../shared/gpu/README.md). Prepare here:
#   bash ../shared/gpu/pack-node.sh                              # .device/node.xz
#   node packages/backend-cuda/scripts/build-gpu-check.mjs     # .device/cuda-check/
# then run this from the repo root there (carry .device). Prints one JSON object:
# {"resgrad": <conformance + ResNet-20 step on cuda + the step with CUDA graphs off/on>,
#  "pytorch": <ResNet-20 step, eager>}.
# Environment: RESGRAD_BENCH_BATCH (128), RESGRAD_BENCH_STEPS (20), RESGRAD_GRAPH_STEPS (20 per
# mode), RESGRAD_GPU_CHECK_ONLY ("conformance,bench,graphs"), RESGRAD_GPU_CHECK_TIMEOUT (seconds
# for the resgrad part, 420).
set -uo pipefail
cd "$(dirname "$0")/../../.."
NODE=${NODE:-/tmp/resgrad-node}
if ! [ -x "$NODE" ]; then
  if command -v node >/dev/null && [ ! -f .device/node.xz ]; then NODE=$(command -v node)
  elif [ -f .device/node.xz ]; then
    python3 -c "import lzma,shutil;shutil.copyfileobj(lzma.open('.device/node.xz'),open('$NODE','wb'))" && chmod +x "$NODE"
  else echo '{"error":"no node: run ../shared/gpu/pack-node.sh here first (.device/node.xz)"}'; exit 1; fi
fi
[ -f .device/cuda-check/check.mjs ] || { echo '{"error":"no bundle: run node packages/backend-cuda/scripts/build-gpu-check.mjs first"}'; exit 1; }

# The Python that has PyTorch, and the CUDA libraries its wheels bring (nvidia/*/lib).
PY=${PYTHON:-python3}
WHEEL_LIBS=$("$PY" - <<'PY' 2>/dev/null
import glob, os, site, sys
dirs = []
for s in site.getsitepackages() + [site.getusersitepackages()] + sys.path:
    dirs += glob.glob(os.path.join(s, "nvidia", "*", "lib"))
print(":".join(dict.fromkeys(d for d in dirs if os.path.isdir(d))))
PY
)
export RESGRAD_CUDA_PATH="${RESGRAD_CUDA_PATH:+$RESGRAD_CUDA_PATH:}/usr/local/nvidia/lib64${WHEEL_LIBS:+:$WHEEL_LIBS}"
export RESGRAD_CACHE_DIR=${RESGRAD_CACHE_DIR:-/tmp/resgrad-cache}

RESGRAD=$(timeout "${RESGRAD_GPU_CHECK_TIMEOUT:-420}" "$NODE" .device/cuda-check/check.mjs 2>/tmp/resgrad-gpu-check.err | tail -1)
[ -n "$RESGRAD" ] || RESGRAD=$(printf '{"error":"check.mjs printed nothing (exit or timeout); stderr tail: %s"}' "$(tail -c 1500 /tmp/resgrad-gpu-check.err | tr '\n"\\' ' __')")
if "$PY" -c 'import torch' 2>/dev/null; then
  TORCH=$(timeout 300 "$PY" packages/backend-cuda/scripts/resnet20_torch.py 2>/tmp/resgrad-torch.err | tail -1)
  [ -n "$TORCH" ] || TORCH='{"error":"resnet20_torch.py printed nothing"}'
else
  TORCH='{"error":"no PyTorch in '"$PY"'"}'
fi
printf '{"resgrad":%s,"pytorch":%s,"cudaPath":"%s"}\n' "$RESGRAD" "$TORCH" "$RESGRAD_CUDA_PATH"
