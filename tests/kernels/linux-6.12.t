#!/bin/sh
# The in-guest checks under Debian's 6.12 kernel in QEMU (tests/kernels/README.md).
exec "$(dirname "$0")/boot-tap" 6.12
