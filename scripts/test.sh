#!/usr/bin/env bash
# The test command: set-up for tests (small models only), then every test, in release mode so the
# tests share the main build's cache.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
. scripts/lib/build-env.sh
cargo test --release --locked -- --test-threads "${CURATOR_TEST_THREADS:-2}"
scripts/test-openai-client.sh
scripts/test-schema.sh
scripts/test-web.sh
