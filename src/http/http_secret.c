/*
 * http_secret.c - sealing console users' TOTP secrets (see http_secret.h).
 */
#include "http/http_secret.h"
#include "util/base64.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEAL_PREFIX	"s1:"
#define SEAL_MAX	512	/* a stored secret longer than this is damaged */

static char *
key_path(const struct config *cfg)
{
	return *cfg->console_key_file ? xstrdup(cfg->console_key_file) :
	    config_state_path(cfg, "console.key");
}

/* A new key file: written whole under a temporary name, then linked into
 * place, so that two processes starting at once agree on one key. */
static int
key_create(const char *path, char *err, size_t errlen)
{
	unsigned char key[CONSOLE_KEY_SIZE];
	char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), rc = -1;

	if (fd < 0) {
		snprintf(err, errlen, "console key %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	randombytes_buf(key, sizeof(key));
	if (write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) || fsync(fd) < 0)
		snprintf(err, errlen, "console key %s: %s", tmp, strerror(errno));
	else if (link(tmp, path) < 0 && errno != EEXIST)
		snprintf(err, errlen, "console key %s: %s", path, strerror(errno));
	else
		rc = 0;
	close(fd);
	unlink(tmp);
	sodium_memzero(key, sizeof(key));
	free(tmp);
	return rc;
}

int
console_key_load(const struct config *cfg, unsigned char key[CONSOLE_KEY_SIZE], char *err,
    size_t errlen)
{
	char *path = key_path(cfg);
	struct stat sb;
	int fd, rc = -1;
	ssize_t n;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to start");
		free(path);
		return -1;
	}
	if (access(path, F_OK) < 0 && errno == ENOENT && key_create(path, err, errlen) < 0) {
		free(path);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "console key %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (fstat(fd, &sb) < 0)
		snprintf(err, errlen, "console key %s: %s", path, strerror(errno));
	else if (sb.st_mode & 077)
		snprintf(err, errlen, "console key %s: readable by others (mode %03o); "
		    "chmod 600 it", path, (unsigned)(sb.st_mode & 0777));
	else if (sb.st_size != CONSOLE_KEY_SIZE)
		snprintf(err, errlen, "console key %s: %lld bytes, not %d", path,
		    (long long)sb.st_size, CONSOLE_KEY_SIZE);
	else if ((n = read(fd, key, CONSOLE_KEY_SIZE)) != CONSOLE_KEY_SIZE)
		snprintf(err, errlen, "console key %s: %s", path,
		    n < 0 ? strerror(errno) : "short read");
	else
		rc = 0;
	close(fd);
	free(path);
	return rc;
}

char *
console_secret_seal(const unsigned char key[CONSOLE_KEY_SIZE], const char *plain)
{
	size_t pl = strlen(plain), bl = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + pl;
	unsigned char *box = xmalloc(bl);
	char *out = xmalloc(strlen(SEAL_PREFIX) + base64_encoded_len(bl) + 1);

	if (sodium_init() < 0)
		panic("libsodium failed to start");
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plain,
	    pl, box, key);
	memcpy(out, SEAL_PREFIX, strlen(SEAL_PREFIX));
	base64_encode(box, bl, out + strlen(SEAL_PREFIX));
	free(box);
	return out;
}

char *
console_secret_open(const unsigned char key[CONSOLE_KEY_SIZE], const char *stored,
    int *plain_stored)
{
	size_t sl, hdr = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
	unsigned char box[SEAL_MAX];
	char *plain;
	long bl;

	*plain_stored = 0;
	if (stored == NULL)
		return NULL;
	if (strncmp(stored, SEAL_PREFIX, strlen(SEAL_PREFIX)) != 0) {
		*plain_stored = 1;
		return xstrdup(stored);
	}
	stored += strlen(SEAL_PREFIX);
	sl = strlen(stored);
	if (sl > SEAL_MAX / 4 * 3 - 3 || (bl = base64_decode(stored, sl, box)) < 0 ||
	    (size_t)bl < hdr)
		return NULL;
	plain = xmalloc((size_t)bl - hdr + 1);
	if (crypto_secretbox_open_easy((unsigned char *)plain, box + crypto_secretbox_NONCEBYTES,
	    (unsigned long long)bl - crypto_secretbox_NONCEBYTES, box, key) != 0) {
		free(plain);
		return NULL;
	}
	plain[(size_t)bl - hdr] = '\0';
	return plain;
}
