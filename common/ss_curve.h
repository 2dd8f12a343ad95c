/* ss_curve: CurveZMQ keys as storesync keeps them, and the socket options
 * that put a link under Curve. A key pair lives in a small INI file
 * ([curve] public = ..., secret = ..., Z85 text); the secret file must be
 * readable by its owner only (mode 0600 or stricter), and a daemon refuses
 * to start on one that others can read. A public key travels as its 40
 * Z85 characters, or as a .pub file holding them. */
#ifndef SS_CURVE_H
#define SS_CURVE_H

#include <stddef.h>

#define SS_CURVE_KEY_CHARS 40

struct ss_curve_pair {
	char public_key[SS_CURVE_KEY_CHARS + 1];
	char secret_key[SS_CURVE_KEY_CHARS + 1];
};

/* Writes a new key pair: the secret to secret_path (mode 0600, refused when
 * the file exists) and the public key to public_path (0644). 0, or -1 with
 * a reason. */
int ss_curve_keygen(const char *secret_path, const char *public_path, char *err,
	size_t errlen);
/* `PROG keygen FILE` of every command (hq-hub, store-agent, hqctl): writes
 * FILE (the secret, 0600) and FILE.pub, says where on stdout; the exit
 * status (0, 1 on failure, 2 on bad arguments) with a one-line reason on
 * stderr. */
int ss_curve_keygen_command(const char *prog, int argc, char **argv);
/* Reads a key pair, refusing a file that its group or others can read. */
int ss_curve_load_pair(const char *path, struct ss_curve_pair *pair, char *err, size_t errlen);
/* A public key from a file holding it (a .pub file, or a pair file's
 * public key) or, when no such file exists, from 40 Z85 characters. */
int ss_curve_load_public(const char *key_or_path, char out[SS_CURVE_KEY_CHARS + 1], char *err,
	size_t errlen);
/* 0 when text is a well-formed Z85 Curve key. */
int ss_curve_key_valid(const char *text);

/* Server side: the socket accepts Curve clients only, authenticated by the
 * ZAP handler of its context for zap_domain. */
int ss_curve_server(void *sock, const struct ss_curve_pair *pair, const char *zap_domain);
/* Client side: talks Curve to the server whose public key is given. */
int ss_curve_client(void *sock, const struct ss_curve_pair *pair, const char *server_public);

#endif
