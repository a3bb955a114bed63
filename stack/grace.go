package stack

import "time"

// Grace is how long a stop waits after the polite signal before SIGKILL,
// on every backend.
const Grace = 15 * time.Second
