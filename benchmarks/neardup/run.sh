#!/usr/bin/env bash
# The committed near-duplicate report on the test collection (64 bits, build-index's defaults:
# the 'copies' recipe and the 10-minute budget, regions of every original indexed too, with the whole-image
# figures of the same codes beside them; 2 CPU cores, one process at a time).
set -euo pipefail
images=$(bash "$(dirname "$0")/collection.sh" "${1:-/tmp/nacsearch-neardup-images}")
nacsearch eval --protocol neardup --images "$images" --bits 64 \
  --methods "${METHODS:-nac,simclr,phash,dhash,ahash,whash,itq}" \
  --out "$(dirname "$0")/test"
