package mariadb

import (
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/images"
)

// ContainerPort is MariaDB's port inside the stack's network.
const ContainerPort = 3306

// docker uses the official image's initialisation (root password, the app
// database and user) instead of native's --init-file: the image runs its
// own SQL as root at first start, which an init file changing root's
// password would break. The server settings are native's.
func docker(e *stack.Runtime) (stack.DockerSpec, error) {
	return stack.DockerSpec{
		Image: images.Ref(Name),
		Env: map[string]string{
			"MARIADB_ROOT_PASSWORD": e.Secrets.MariaDBRoot,
			"MARIADB_DATABASE":      DB,
			"MARIADB_USER":          e.Secrets.AppUser,
			"MARIADB_PASSWORD":      e.Secrets.MariaDBPassword,
		},
		Cmd:      ServerArgs(), // "--k=v" arguments go to mariadbd
		Ports:    map[string]int{"main": ContainerPort},
		DataPath: "/var/lib/mysql",
		Health:   []string{"CMD", "mariadb-admin", "ping", "-h", "127.0.0.1", "--silent"},
	}, nil
}
