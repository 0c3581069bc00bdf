#!/usr/bin/env bash
# Train campaign configs side by side on a lent GPU machine (issue 14).
#
# Usage (on the device, repo root): campaign/device/train_on_device.sh OUTDIR CONFIG.json...
# Each CONFIG runs in its own process on $TRAIN_DEVICE (default cuda; cpu to try the script
# here first) with its `out` replaced by OUTDIR/<name>
# (name = the config file's stem). A finished run keeps model.safetensors + sidecar + train.log +
# console.log; its optimiser checkpoint is deleted (decision 69) unless the run did not finish, in
# which case insar_ae.model.train.export_checkpoint(OUTDIR/<name>) still makes weights of it.
set -u
out=$1; shift
export TRAIN_DEVICE=${TRAIN_DEVICE:-cuda} PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
python3 - <<'PY' || exit 1
import torch
print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")
PY
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
pids=()
for cfg in "$@"; do
  name=$(basename "$cfg" .json)
  mkdir -p "$out/$name"
  python3 -c "
import os, sys
from insar_ae.model.train import TrainConfig, train
cfg = TrainConfig.from_file(sys.argv[1])
print(train(cfg.replace(out=sys.argv[2], device=os.environ['TRAIN_DEVICE'])))
" "$cfg" "$out/$name" >"$out/$name/console.log" 2>&1 &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
for cfg in "$@"; do
  d="$out/$(basename "$cfg" .json)"
  [ -f "$d/model.safetensors" ] && rm -f "$d/checkpoint.pt"
  echo "== $d"; tail -n 3 "$d/console.log"; tail -n 2 "$d/train.log"
done
nvidia-smi --query-gpu=memory.used --format=csv,noheader || true
exit $rc
