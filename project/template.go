package project

import (
	"fmt"
	"strings"

	"github.com/mossdev/mossdev/stack/services/images"
)

// Template is the commented file `mossdev init` writes: every key, set
// to its default and commented out, so the file pins nothing until the
// team decides to, and a later default change still reaches them.
func Template(name string) string {
	var img strings.Builder
	for _, k := range images.Kinds() {
		fmt.Fprintf(&img, "# %s = %q\n", k, images.Pinned[k])
	}
	return fmt.Sprintf(`# mossdev.toml: how this project's copy of the Mossi platform is made.
# Commit it. Every mossdev command finds it by walking up from the working
# directory. Precedence: flags > MOSSDEV_* environment > this file > defaults;
# `+"`mossdev config`"+` shows the effective values and where each came from.

# The layout of this file; a later mossdev still reads this one.
schema = %d

# Stack name. Left out, it is this directory's name (%s), so every checkout
# and git worktree gets its own stack. Lowercase letters, digits, dashes.
# name = %q

# Where services run: "native" (Debian server binaries), "docker", or "auto"
# (docker when the engine answers and every image is present, else native).
# backend = "auto"

# Start only these services and what they need (up --only). Left out: all.
# services = ["pgbouncer", "redis-0"]

# Redis cache shards (1-16) and RabbitMQ nodes (1-5), fixed when the stack
# is created.
# redis_shards = 3
# rabbitmq_nodes = 3

# Give up if the stack is not healthy by then.
# timeout = "3m"

# Fixed host ports on 127.0.0.1 (1024-65535), per service or
# "service:portname". Others are chosen free at the first up and kept.
[ports]
# postgres = 15432
# "rabbitmq-1:dist" = 25672

# Image overrides for the docker backend (same as MOSSDEV_IMAGE_<KIND>).
[images]
%s
# The dataset `+"`mossdev up`"+` loads once the stack is up.
[seed]
# number = 2016       # the same number gives byte-identical data everywhere
# scale = "default"   # small, default, large, prod
# enabled = true      # false: up does not seed (up --no-seed)
`, Schema, name, name, img.String())
}
