/* ss_curve: key files and Curve socket options. The secret key file is
 * created with O_EXCL and mode 0600 from the start (never written and then
 * chmod'ed), so it is never readable by others, not even briefly. */
#include "ss_curve.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

static const char z85_chars[] =
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

int ss_curve_key_valid(const char *text)
{
	uint8_t raw[32];

	if (!text || strlen(text) != SS_CURVE_KEY_CHARS)
		return -1;
	for (const char *p = text; *p; p++)
		if (!strchr(z85_chars, *p))
			return -1;
	return zmq_z85_decode(raw, text) ? 0 : -1;
}

static int write_file(const char *path, int mode, int exclusive, const char *text, char *err,
	size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | (exclusive ? O_EXCL : 0), mode);
	size_t len = strlen(text);

	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return close(fd);
}

int ss_curve_keygen(const char *secret_path, const char *public_path, char *err,
	size_t errlen)
{
	struct ss_curve_pair p;
	char text[256];

	if (zmq_curve_keypair(p.public_key, p.secret_key) != 0) {   /* libsodium, in libzmq */
		snprintf(err, errlen, "cannot make a key pair: %s", zmq_strerror(errno));
		return -1;
	}
	snprintf(text, sizeof text, "# storesync CurveZMQ key pair: keep the secret on this host\n"
		"[curve]\npublic = %s\nsecret = %s\n", p.public_key, p.secret_key);
	if (write_file(secret_path, 0600, 1, text, err, errlen) != 0)
		return -1;
	snprintf(text, sizeof text, "%s\n", p.public_key);
	return write_file(public_path, 0644, 0, text, err, errlen);
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct ss_curve_pair *p = user;

	if (strcmp(section, "curve") != 0)
		return 1;
	if (strcmp(name, "public") == 0)
		snprintf(p->public_key, sizeof p->public_key, "%s", value);
	else if (strcmp(name, "secret") == 0)
		snprintf(p->secret_key, sizeof p->secret_key, "%s", value);
	return 1;
}

int ss_curve_load_pair(const char *path, struct ss_curve_pair *pair, char *err, size_t errlen)
{
	struct stat st;

	memset(pair, 0, sizeof *pair);
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "key file %s can be read by others (mode %04o): chmod 600 it",
			path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (ini_parse(path, on_key, pair) != 0 || ss_curve_key_valid(pair->public_key) != 0
		|| ss_curve_key_valid(pair->secret_key) != 0) {
		snprintf(err, errlen, "key file %s does not hold a [curve] public and secret key "
			"(make one with keygen)", path);
		return -1;
	}
	return 0;
}

int ss_curve_load_public(const char *key_or_path, char out[SS_CURVE_KEY_CHARS + 1], char *err,
	size_t errlen)
{
	struct ss_curve_pair p = { "", "" };
	char line[128];
	FILE *fp;

	/* A file first: a path of 40 characters may also spell a Z85 key
	 * ("/tmp/…/store-S1.key.pub" does). */
	if (access(key_or_path, F_OK) != 0 && ss_curve_key_valid(key_or_path) == 0) {
		snprintf(out, SS_CURVE_KEY_CHARS + 1, "%s", key_or_path);
		return 0;
	}
	if (!(fp = fopen(key_or_path, "r"))) {
		snprintf(err, errlen, "public key %s: %s", key_or_path, strerror(errno));
		return -1;
	}
	/* A .pub file: the key on its first line; else a pair file's public. */
	if (fgets(line, sizeof line, fp)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (ss_curve_key_valid(line) == 0)
			memcpy(p.public_key, line, SS_CURVE_KEY_CHARS + 1);
	}
	fclose(fp);
	if (!p.public_key[0])
		ini_parse(key_or_path, on_key, &p);
	if (ss_curve_key_valid(p.public_key) != 0) {
		snprintf(err, errlen, "%s holds no Curve public key", key_or_path);
		return -1;
	}
	snprintf(out, SS_CURVE_KEY_CHARS + 1, "%s", p.public_key);
	return 0;
}

int ss_curve_server(void *sock, const struct ss_curve_pair *pair, const char *zap_domain)
{
	int on = 1;

	if (zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, zap_domain, strlen(zap_domain)) != 0
		|| zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &on, sizeof on) != 0
		|| zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, pair->secret_key, SS_CURVE_KEY_CHARS) != 0)
		return -1;
	return 0;
}

int ss_curve_client(void *sock, const struct ss_curve_pair *pair, const char *server_public)
{
	if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_public, SS_CURVE_KEY_CHARS) != 0
		|| zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pair->public_key, SS_CURVE_KEY_CHARS) != 0
		|| zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, pair->secret_key, SS_CURVE_KEY_CHARS) != 0)
		return -1;
	return 0;
}

int ss_curve_keygen_command(const char *prog, int argc, char **argv)
{
	char pub[1024], err[512];

	if (argc == 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
		printf("Usage: %s keygen FILE\nWrite a CurveZMQ key pair: FILE, the secret key "
			"(mode 0600; keep it on this machine), and FILE.pub, the public key to "
			"register.\n", prog);
		return 0;
	}
	if (argc != 1 || !argv[0][0] || argv[0][0] == '-') {
		fprintf(stderr, "%s: keygen takes one FILE (the secret key file to write)\n", prog);
		return 2;
	}
	if (snprintf(pub, sizeof pub, "%s.pub", argv[0]) >= (int)sizeof pub) {
		fprintf(stderr, "%s: keygen: %s: path too long\n", prog, argv[0]);
		return 2;
	}
	if (ss_curve_keygen(argv[0], pub, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 1;
	}
	printf("secret key: %s (mode 0600; keep it on this machine)\npublic key: %s\n", argv[0],
		pub);
	return 0;
}
