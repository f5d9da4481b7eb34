#!/bin/sh
# The in-guest checks under Debian's 5.10 kernel in QEMU (tests/kernels/README.md).
exec "$(dirname "$0")/boot-tap" 5.10
