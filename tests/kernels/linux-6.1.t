#!/bin/sh
# The in-guest checks under Debian's 6.1 kernel in QEMU (tests/kernels/README.md).
exec "$(dirname "$0")/boot-tap" 6.1
