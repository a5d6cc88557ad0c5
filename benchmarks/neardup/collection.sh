#!/usr/bin/env bash
# The near-duplicate benchmark's image folder: third-party artwork from Debian packages, linked
# (not copied) into one directory.  Usage: bash benchmarks/neardup/collection.sh [DIR]
set -euo pipefail
dir=${1:-/tmp/nacsearch-neardup-images}
if ! [ -d /usr/share/openclipart/png ] || ! [ -d /usr/share/tuxpaint/stamps ]; then
  apt-get update -qq && apt-get install -y -qq openclipart-png tuxpaint-stamps-default gnome-backgrounds \
    plasma-workspace-wallpapers mate-backgrounds sway-backgrounds lomiri-wallpapers ukui-wallpapers >/dev/null
fi
mkdir -p "$dir"
ln -sfn /usr/share/openclipart/png "$dir/openclipart"
ln -sfn /usr/share/tuxpaint/stamps "$dir/tuxpaint-stamps"
ln -sfn /usr/share/backgrounds "$dir/backgrounds"
ln -sfn /usr/share/wallpapers "$dir/wallpapers"
echo "$dir"
