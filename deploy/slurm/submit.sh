#!/usr/bin/env bash
# Submit a partitioned `turnkit prepare` to Slurm: an array of N tasks (prepare.sbatch) and a merge job
# (merge.sbatch) that starts only when every task succeeded (--dependency=afterok). Prints both job ids.
#
#   deploy/slurm/submit.sh --corpus audiocaps --src /shared/audiocaps --out /shared/datasets/audiocaps --parts 16 \
#     [--index i[,j...]] [--logs DIR] [--dry-run] [-- further prepare flags...]
#
# --index resubmits only those array indexes (a task that failed or was killed: it resumes) and a new merge after
# them. --dry-run prints the sbatch commands instead of running them. Further sbatch options (partition, account,
# qos) go in SBATCH_* environment variables (SBATCH_PARTITION, SBATCH_ACCOUNT, ...), which sbatch reads itself.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus='' src='' out='' parts='' index='' logs="${PWD}" dry=0
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --corpus) corpus=$2; shift 2 ;;
    --src) src=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --parts) parts=$2; shift 2 ;;
    --index) index=$2; shift 2 ;;
    --logs) logs=$2; shift 2 ;;
    --dry-run) dry=1; shift ;;
    --) shift; break ;;
    -h|--help) usage ;;
    *) echo "submit.sh: unknown option $1" >&2; usage ;;
  esac
done
[[ -n $corpus && -n $src && -n $out && -n $parts ]] || { echo "submit.sh: --corpus, --src, --out and --parts are required" >&2; usage; }
[[ $parts =~ ^[1-9][0-9]*$ ]] || { echo "submit.sh: --parts $parts: expected a positive integer" >&2; exit 2; }
if [[ -n $index ]]; then
  [[ $index =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "submit.sh: --index $index: expected i or i,j,..." >&2; exit 2; }
  for i in ${index//,/ }; do (( i < parts )) || { echo "submit.sh: --index $i is not below --parts $parts" >&2; exit 2; }; done
  array=$index
else
  array="0-$((parts - 1))"
fi
mkdir -p "$logs"
export TURNKIT_CORPUS=$corpus TURNKIT_SRC=$src TURNKIT_OUT=$out TURNKIT_PARTS=$parts TURNKIT_ARGS="$*"
prepare=(sbatch --parsable --array="$array" --chdir="$logs" --output="$logs/turnkit-prepare-%A_%a.log" --export=ALL "$here/prepare.sbatch")
if (( dry )); then
  echo "TURNKIT_CORPUS=$corpus TURNKIT_SRC=$src TURNKIT_OUT=$out TURNKIT_PARTS=$parts TURNKIT_ARGS='$*' ${prepare[*]}"
  echo "sbatch --parsable --dependency=afterok:<array job> --chdir=$logs --output=$logs/turnkit-merge-%j.log --export=ALL $here/merge.sbatch"
  exit 0
fi
job=$("${prepare[@]}")
job=${job%%;*} # --parsable prints "id" or "id;cluster"
merge=$(sbatch --parsable --dependency="afterok:$job" --chdir="$logs" --output="$logs/turnkit-merge-%j.log" --export=ALL "$here/merge.sbatch")
echo "prepare array job $job (tasks $array), merge job ${merge%%;*} after it; logs in $logs"
