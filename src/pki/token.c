/*
 * token: make and parse one-time enrollment tokens (token.h). All buffers are
 * the caller's; the secret is wiped from local copies.
 */
#include "pki/token.h"

#include "pki/x509.h"
#include "tls/tls.h"

#include <mbedtls/platform_util.h>

#include <stdio.h>
#include <string.h>

static int is_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", s[i]))
            return 0;
    return 1;
}

/* Each name of a comma-separated list is a valid service name. */
static int check_services(const char *csv, struct weft_err *e)
{
    char buf[PKI_TOKEN_SVCS_MAX + 1];
    size_t n = 0;
    if (!csv || !*csv)
        return 0;
    if (strlen(csv) >= sizeof(buf))
        return err_set(e, "too many services");
    snprintf(buf, sizeof(buf), "%s", csv);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (spiffe_name_check(SPIFFE_SVC, t, e) != 0)
            return -1;
        if (++n > PKI_BUNDLE_SERVICES_MAX)
            return err_set(e, "more than %d services", PKI_BUNDLE_SERVICES_MAX);
    }
    return 0;
}

int pki_token_hash(const char *secret, char hash[65], struct weft_err *e)
{
    return pki_x509_sha256_hex((const unsigned char *)secret, strlen(secret), hash, e);
}

int pki_token_new(const char *fingerprint, const char *node, const char *services_csv,
                  const char *addr, char *out, size_t cap, char hash[65], struct weft_err *e)
{
    unsigned char raw[PKI_TOKEN_SECRET_HEX / 2];
    char secret[PKI_TOKEN_SECRET_HEX + 1];
    if (!is_hex(fingerprint, 64))
        return err_set(e, "bad CA fingerprint");
    if (spiffe_name_check(SPIFFE_NODE, node, e) != 0 || check_services(services_csv, e) != 0)
        return -1;
    if (!addr || !*addr || strlen(addr) >= sizeof(((struct pki_token *)0)->addr) ||
        !strchr(addr, ':'))
        return err_set(e, "the CA's control address must be host:port");
    if (tls_random(raw, sizeof(raw), e) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(secret + 2 * i, 3, "%02x", raw[i]);
    int n = snprintf(out, cap, "weft1:%s:%s:%s:%s:%s", secret, fingerprint, node,
                     services_csv && *services_csv ? services_csv : "-", addr);
    int rc = (n < 0 || (size_t)n >= cap) ? err_set(e, "token too long")
                                         : pki_token_hash(secret, hash, e);
    mbedtls_platform_zeroize(raw, sizeof(raw));
    mbedtls_platform_zeroize(secret, sizeof(secret));
    return rc;
}

/* Copy the field [s, colon) into out; -1 if missing or too long. */
static const char *field(const char *s, char *out, size_t cap)
{
    const char *c = strchr(s, ':');
    if (!c || (size_t)(c - s) >= cap)
        return NULL;
    memcpy(out, s, (size_t)(c - s));
    out[c - s] = '\0';
    return c + 1;
}

int pki_token_parse(const char *s, struct pki_token *t, struct weft_err *e)
{
    memset(t, 0, sizeof(*t));
    if (!s || strncmp(s, "weft1:", 6) != 0)
        return err_set(e, "not a weft enrollment token (expected weft1:...)");
    const char *p = s + 6;
    if (!(p = field(p, t->secret, sizeof(t->secret))) || !is_hex(t->secret, PKI_TOKEN_SECRET_HEX))
        return err_set(e, "enrollment token: bad secret");
    if (!(p = field(p, t->fingerprint, sizeof(t->fingerprint))) || !is_hex(t->fingerprint, 64))
        return err_set(e, "enrollment token: bad CA fingerprint");
    if (!(p = field(p, t->node, sizeof(t->node))) || spiffe_name_check(SPIFFE_NODE, t->node, e))
        return err_set(e, "enrollment token: bad node name");
    if (!(p = field(p, t->services, sizeof(t->services))))
        return err_set(e, "enrollment token: bad services");
    if (strcmp(t->services, "-") == 0)
        t->services[0] = '\0';
    else if (check_services(t->services, e) != 0)
        return err_prefix(e, "enrollment token");
    if (!*p || strlen(p) >= sizeof(t->addr) || !strchr(p, ':'))
        return err_set(e, "enrollment token: bad CA address");
    snprintf(t->addr, sizeof(t->addr), "%s", p);
    return 0;
}
