#!/usr/bin/env bash
# Set up AiLive Mixer on a fresh Debian/Ubuntu machine: system packages, .venv, the package.
#   scripts/setup.sh          runtime (demo, live use)
#   scripts/setup.sh dev      + test tools, the JACK server used by the capture tests, and the
#                             small soundfonts and kits the data tests render with
#   scripts/setup.sh data     runtime + every soundfont and drum kit of the sound pools
#                             (ailive data synth; ~300 MB of recordings, models/data/README.md)
# Re-running is cheap: nothing is reinstalled unless pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${1:-runtime}"
case "$profile" in
  runtime) apt_pkgs="libportaudio2"; extras="data,train" ;;
  dev)     apt_pkgs="libportaudio2 jackd2 fluidsynth fluid-soundfont-gm timgm6mb-soundfont hydrogen-data avldrums.lv2-soundfont lmms-common sonic-pi-samples"; extras="data,train,dev" ;;
  data)    apt_pkgs="libportaudio2 fluidsynth fluid-soundfont-gm timgm6mb-soundfont musescore-general-soundfont-small hydrogen-data hydrogen-drumkits avldrums.lv2-soundfont lmms-common sonic-pi-samples csound-soundfont"; extras="data,train" ;;
  *) echo "usage: $0 [runtime|dev|data]" >&2; exit 2 ;;
esac

# --- system packages -------------------------------------------------------------------------
missing=""
for pkg in $apt_pkgs; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $pkg"
  fi
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "setup: installing system packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "setup: these system packages are missing:$missing" >&2
    echo "setup: install them, then run this again:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
  fi
fi

# --- Python environment ----------------------------------------------------------------------
py=""
for cand in python3.11 python3.12 python3.13 python3; do
  if command -v "$cand" >/dev/null 2>&1 &&
     "$cand" -c 'import sys; raise SystemExit(sys.version_info < (3, 11))' 2>/dev/null; then
    py="$cand"; break
  fi
done
if [ -z "$py" ]; then
  echo "setup: Python 3.11 or newer is required (sudo apt-get install python3 python3-venv)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $("$py" --version)"
  "$py" -m venv .venv
fi
stamp=".venv/.ailive-installed-$extras-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing ailive-mixer[$extras] into .venv (torch is pinned to the CPU build)"
  .venv/bin/python -m pip install -q --upgrade pip
  # torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[$extras]"
  rm -f .venv/.ailive-installed-*
  touch "$stamp"
fi
