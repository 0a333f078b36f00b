#!/usr/bin/env bash
# The device check: builds the mHC device kernels for the GPU (ILGPU compiles them to PTX at run time),
# runs each forward and backward on the GPU against ILGPU's CPU accelerator on the same inputs, then
# measures copy bandwidth, pre-mix and merge bandwidth against it, and Sinkhorn fwd+bwd at 64k tokens.
# Needs the NVIDIA driver and either the .NET 10 SDK with the packages restorable, or a published build
# (see docs/benchmarks.md, "Device kernels"). Exit codes: 0 all checks passed, 2 a check failed, 3 no device.
#   build/device-check.sh                 # on a GPU machine
#   build/device-check.sh --accelerator cpu   # the same steps at tiny sizes on the CPU accelerator
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
published="$root/.device-check/Mhc.DeviceCheck"
if [[ -x "$published" ]]; then
  exec "$published" "$@"
fi
if ! command -v dotnet >/dev/null; then
  echo "error: no dotnet on PATH and no published build at .device-check/; publish one where the SDK is:" >&2
  echo "  dotnet publish tools/Mhc.DeviceCheck -c Release -r linux-x64 --self-contained -p:PublishTrimmed=true -p:TrimMode=partial -o .device-check" >&2
  exit 3
fi
exec dotnet run --project "$root/tools/Mhc.DeviceCheck" -c Release -- "$@"
