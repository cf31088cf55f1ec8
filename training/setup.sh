#!/usr/bin/env bash
# Installs the pipeline's toolchain from Debian's packages when missing (there is no PyPI here).
# libopenblas0-pthread is not optional: without it torch falls back to a reference BLAS ~40x slower.
set -euo pipefail
PY=/usr/bin/python3
if $PY -c "import torch, numpy, onnx, matplotlib" 2>/dev/null && dpkg -s libopenblas0-pthread >/dev/null 2>&1; then exit 0; fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  python3-torch python3-numpy python3-onnx python3-matplotlib libopenblas0-pthread
