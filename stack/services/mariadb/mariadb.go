// Package mariadb is the Mossi platform's hashtag search store. LIKE search
// over 6 million hashtags on the main database was too slow, so the
// deduplicated tags were copied into MariaDB. Two details make a faithful
// copy: the character set must be utf8mb4 (MariaDB's "utf8" is 3 bytes and
// rejects emoji such as 🌙), and InnoDB's 767-byte index key limit leaves 190
// characters for a utf8mb4 varchar key. Case-sensitive search (#Love ≠ #love)
// needs a binary collation on the tag column.
package mariadb

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/probe"
)

// Name is the service id; DB the app database.
const (
	Name = "mariadb"
	DB   = "mossi"
)

// Service describes MariaDB.
func Service() stack.Service {
	return stack.Service{
		Name: Name, Kind: Name,
		Explain: "Hashtag search: LIKE over 6 million hashtags was too slow on the main database, so the " +
			"deduplicated tags live here. utf8mb4 (MariaDB's utf8 rejects emoji), and a binary collation so #Love ≠ #love.",
		Role:     "hashtag search: 6M deduplicated hashtags, utf8mb4 for emoji, case-sensitive collation",
		Ports:    []string{"main"},
		Native:   native,
		Docker:   docker,
		Counters: counters,
		Probe:    func(e *stack.Runtime) probe.Probe { return probe.MySQL(DSN(e)) },
		URL: func(e *stack.Runtime) string {
			return fmt.Sprintf("mysql://%s:%s@%s/%s", e.Secrets.AppUser, e.Secrets.MariaDBPassword, e.Addr(Name, "main"), DB)
		},
		Extra: func(e *stack.Runtime) map[string]string {
			return map[string]string{stack.EnvName(Name, "DSN"): DSN(e)}
		},
	}
}

// DSN is the go-sql-driver/mysql form of the app connection.
func DSN(e *stack.Runtime) string {
	return fmt.Sprintf("%s:%s@tcp(%s)/%s?charset=utf8mb4&parseTime=true&allowAllFiles=false",
		e.Secrets.AppUser, e.Secrets.MariaDBPassword, e.Addr(Name, "main"), DB)
}

// RootDSN is the go-sql-driver/mysql form of root on the app database:
// the seed raises the InnoDB buffer pool for the 6 M-row load with it.
func RootDSN(e *stack.Runtime) string {
	return fmt.Sprintf("root:%s@tcp(%s)/%s?charset=utf8mb4&parseTime=true",
		e.Secrets.MariaDBRoot, e.Addr(Name, "main"), DB)
}

// InitSQL runs at every server start (--init-file): it sets the root
// password, and creates the app database and user. Idempotent.
func InitSQL(e *stack.Runtime) string {
	q := func(s string) string { return strings.ReplaceAll(s, "'", "''") }
	return strings.Join([]string{
		// install-db leaves root@127.0.0.1 and root@::1 without a password,
		// and over TCP they match before root@'%': give every root the secret.
		fmt.Sprintf("ALTER USER IF EXISTS 'root'@'localhost' IDENTIFIED BY '%s';", q(e.Secrets.MariaDBRoot)),
		fmt.Sprintf("ALTER USER IF EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '%s';", q(e.Secrets.MariaDBRoot)),
		fmt.Sprintf("ALTER USER IF EXISTS 'root'@'::1' IDENTIFIED BY '%s';", q(e.Secrets.MariaDBRoot)),
		fmt.Sprintf("CREATE USER IF NOT EXISTS 'root'@'%%' IDENTIFIED BY '%s';", q(e.Secrets.MariaDBRoot)),
		"GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;",
		fmt.Sprintf("CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;", DB),
		fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s';", q(e.Secrets.AppUser), q(e.Secrets.MariaDBPassword)),
		fmt.Sprintf("ALTER USER '%s'@'%%' IDENTIFIED BY '%s';", q(e.Secrets.AppUser), q(e.Secrets.MariaDBPassword)),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'%%';", DB, q(e.Secrets.AppUser)),
		dropHostAccounts(),
		"FLUSH PRIVILEGES;",
	}, "\n") + "\n"
}

// dropHostAccounts removes what install-db creates for this machine's
// hostname: root@<hostname> with an empty password (unreachable only as long
// as --skip-name-resolve holds) and any anonymous account. Nothing should
// log in as them; one setting changed later must not open the server.
func dropHostAccounts() string {
	stmts := []string{"DROP USER IF EXISTS ''@'localhost';"}
	if h, err := os.Hostname(); err == nil && h != "" && !slices.Contains([]string{"localhost", "127.0.0.1", "::1", "%"}, h) {
		h = strings.ReplaceAll(h, "'", "''")
		stmts = append(stmts, fmt.Sprintf("DROP USER IF EXISTS 'root'@'%s';", h), fmt.Sprintf("DROP USER IF EXISTS ''@'%s';", h))
	}
	return strings.Join(stmts, "\n")
}

// ServerArgs are the settings both backends give mariadbd.
func ServerArgs() []string {
	return []string{
		"--character-set-server=utf8mb4",
		"--collation-server=utf8mb4_unicode_ci",
		"--skip-name-resolve",
		"--local-infile=1", // the seed bulk-loads hashtags with LOAD DATA LOCAL INFILE
		"--innodb-buffer-pool-size=256M",
		"--innodb-flush-log-at-trx-commit=2",
		"--max-connections=300",
	}
}

func native(e *stack.Runtime) (stack.NativeSpec, error) {
	data, run := filepath.Join(e.DataDir(Name), "db"), e.RunDir(Name)
	initFile := filepath.Join(run, "init.sql")
	return stack.NativeSpec{
		Files: map[string]string{initFile: InitSQL(e)},
		Prepare: []stack.Command{{Path: "mariadb-install-db", Args: []string{
			"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal",
			"--skip-test-db", "--skip-name-resolve"}}},
		Run: stack.Command{Path: "mariadbd", Args: append([]string{"--no-defaults",
			"--datadir=" + data,
			"--bind-address=127.0.0.1",
			fmt.Sprintf("--port=%d", e.Port(Name, "main")),
			"--socket=" + filepath.Join(run, "mysqld.sock"),
			"--pid-file=" + filepath.Join(run, "mysqld.pid"),
			"--init-file=" + initFile,
		}, ServerArgs()...)},
	}, nil
}
