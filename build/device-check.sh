#!/usr/bin/env bash
# The device check (docs/benchmarks.md, "Device kernels"): builds the mHC device kernels for the GPU
# (ILGPU compiles them to PTX at run time), runs each forward and backward on the GPU against ILGPU's CPU
# accelerator on the same inputs, then measures device copy bandwidth, pre-mix and merge bandwidth against
# it, and Sinkhorn forward + backward at 64k tokens. Needs the NVIDIA driver, and either a published build
# in .device-check/ (made where the .NET SDK is: it needs no .NET on the GPU machine) or the .NET 10 SDK.
#   dotnet publish tools/Mhc.DeviceCheck -c Release -r linux-x64 -o .device-check   # once, here
#   build/device-check.sh                     # on the GPU machine
#   build/device-check.sh --accelerator cpu   # the same steps at tiny sizes on the CPU accelerator
# Exit codes: 0 every check passed, 2 a kernel check failed, 3 no CUDA device, 64 bad arguments.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
published="$root/.device-check/Mhc.DeviceCheck"
if [[ -x "$published" ]]; then
  exec "$published" "$@"
fi
if ! command -v dotnet >/dev/null; then
  echo "error: no published build in .device-check/ and no dotnet on PATH; publish one where the .NET SDK is:" >&2
  echo "  dotnet publish tools/Mhc.DeviceCheck -c Release -r linux-x64 -o .device-check" >&2
  exit 3
fi
exec dotnet run --project "$root/tools/Mhc.DeviceCheck" -c Release -- "$@"
