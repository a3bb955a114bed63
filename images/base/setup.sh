#!/bin/sh
# Runs inside the freshly debootstrapped root filesystem (chroot) before it is
# imported as mossdev-ci/debian-servers. Keeps the image lean and free of the
# state the packages' maintainer scripts created for a system install: each
# image's entrypoint initialises its own data on first start, like the
# official images do.
set -eu

# No service may ever start from a maintainer script in this tree (debootstrap
# had its own policy-rc.d while installing; keep one for later apt-get runs).
printf '#!/bin/sh\n# mossdev-ci: never start services from package scripts\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d

# Later package installs skip docs, man pages and translations.
cat >/etc/dpkg/dpkg.cfg.d/90-mossdev-nodoc <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
cat >/etc/apt/apt.conf.d/90-mossdev-clean <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
CFG

# Data the postinst scripts created for a system install.
rm -rf /etc/postgresql/* /var/lib/postgresql/* /var/log/postgresql/*
rm -rf /var/lib/mysql/* /var/log/mysql/*
rm -rf /var/lib/rabbitmq/mnesia /var/lib/rabbitmq/.erlang.cookie /var/log/rabbitmq/*
rm -rf /var/lib/redis/* /var/log/redis/*
rm -f /etc/pgbouncer/pgbouncer.ini /etc/pgbouncer/userlist.txt

# PostgreSQL's LLVM JIT is the only user of libLLVM and libz3 (~155 MB with
# its bitcode): without llvmjit.so the server runs every query interpreted
# (jit is then simply unavailable), which is all a CI stand-in needs.
rm -rf /usr/lib/postgresql/*/lib/llvmjit.so /usr/lib/postgresql/*/lib/llvmjit_types.bc \
       /usr/lib/postgresql/*/lib/bitcode \
       /usr/lib/x86_64-linux-gnu/libLLVM-*.so* /usr/lib/x86_64-linux-gnu/libz3.so*
# Locale sources for localedef (C.UTF-8 is built into glibc).
rm -rf /usr/share/i18n/locales /usr/share/i18n/charmaps

# Caches, docs, logs.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old \
       /var/lib/dpkg/*-old /var/log/apt/* /var/log/dpkg.log /var/log/alternatives.log \
       /var/log/bootstrap.log /root/.cache
find /usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find /usr/share/doc -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/lintian /usr/share/linda
find /usr/share/locale -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
find / -xdev -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true

# Docker provides these at run time; do not ship the build host's.
: >/etc/resolv.conf
: >/etc/hostname
rm -f /etc/machine-id /var/lib/dbus/machine-id
