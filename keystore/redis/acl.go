package redis

// ACL is the smallest Redis ACL rule set that every operation of pmx-login
// needs (the CLI, the library, a watching bot, the agent): its own keys
// (~pmx:v1:*) and channels (&pmx:v1:*), and nothing but the commands it
// sends. Create the user with it, for example:
//
//	ACL SETUSER pmx-login on >PASSWORD resetkeys resetchannels -@all ~pmx:v1:* &pmx:v1:* +get +set ...
//
// (the whole rule string is the value of ACL). It cannot FLUSHALL,
// FLUSHDB, SWAPDB, SCAN or KEYS, SCRIPT FLUSH, FUNCTION anything, CONFIG,
// or read another application's keys; it works on any database (SELECT)
// and on Redis 7.0 and newer (it needs no CLIENT SETINFO). What it can
// still do is what pmx-login itself does: read and write its own
// (encrypted) records, take their locks and publish their change notices
// (see the README's threat model).
const ACL = "resetkeys resetchannels -@all ~pmx:v1:* &pmx:v1:* " +
	"+hello +auth +ping +select +client|setname " +
	"+get +set +del +hget +hmget +hset +pttl +pexpire +sadd +smembers " +
	"+eval +evalsha +spublish +ssubscribe +sunsubscribe"
