package tui

// explain is each component's part in the Mossi platform, written for a new
// hire, by service kind. The service packages' docs say the same at length;
// this is what fits under the diagram. Failure notes say what to try.
var explain = map[string]string{
	"app": "The Mossi apps (Flask/uWSGI API, Django admin, Celery workers) are not part of mossdev: " +
		"your code plays this box. It reaches every store with the URLs `mossdev env` prints.",
	"postgres": "The main database: users, cards, hashtag links and the unique view counts all live here. " +
		"PostgreSQL forks a process per connection, so apps never connect directly: they go through PgBouncer. " +
		"Stop it and watch PgBouncer and the MongoDB stand-in (it stores its collections here) turn unhealthy.",
	"pgbouncer": "The connection pooler in front of PostgreSQL, in transaction pooling mode: thousands of app " +
		"connections share a small pool of server connections. Clients waiting means the pool is too small. " +
		"Prepared statements do not survive across transactions here, so use the simple protocol.",
	"mariadb": "Hashtag search: LIKE over 6 million hashtags was too slow on the main database, so the " +
		"deduplicated tags live here. utf8mb4 (MariaDB's utf8 rejects emoji), and a binary collation so #Love ≠ #love.",
	"mongodb": "The view log: who viewed which card. The unique count stays in PostgreSQL; the per-user log " +
		"went here to take insert load off the main database. Keep indexes few, they slow inserts.",
	"redis": "The main cache, several independent servers sharded by the app: shard = crc32(key) % shards. " +
		"A miss falls back to the database. Writes go to Redis first (write-behind) and reach PostgreSQL later " +
		"through Celery jobs. Kill a shard: its keys miss, the others keep serving.",
	"rabbitmq": "The Celery broker, a cluster of nodes: async jobs, delayed jobs and the cache→database " +
		"write-behind flushes. Redis as a broker was unstable under Mossi's load. Stop one node: HAProxy " +
		"moves its sessions to the others and the queues stay available.",
	"haproxy": "The load balancer in front of the RabbitMQ cluster; apps' AMQP URL points here. AWS ELB cut " +
		"idle connections after at most an hour, which killed Celery's idle .pidbox connections; HAProxy lets " +
		"them idle for days. Its stats show sessions per node.",
	"elasticsearch": "Full-text and geo search over cards (\"cards near Gangnam\", Korean text with the cjk " +
		"analyzer). It replaced AWS CloudSearch, and geo queries moved here from MongoDB.",
	"s3": "The card-image bucket: hundreds of millions of images in production. Clients never fetch from it " +
		"directly; the CDN does, on a miss.",
	"cdn": "The CDN in front of the image bucket (CloudFront's role): it caches card images so S3 sees only " +
		"misses. A warm cache has a high hit ratio; stop S3 and cached images are still served until they expire.",
}
