/*
 * x509: shared certificate-writing helpers for pki/ (see x509.h).
 *
 * The two extensions mbedTLS 2.28 cannot write (subjectAltName URI and
 * extendedKeyUsage) are written here as DER on every mbedTLS version, so the
 * 2.28 and 3.6 builds produce the same bytes from the same code:
 *
 *   subjectAltName   SEQUENCE { [6] IA5String "spiffe://..." }
 *   extKeyUsage      SEQUENCE { OID serverAuth, OID clientAuth }
 *
 * mbedTLS's asn1 writers fill a buffer from its end backwards, hence the
 * reverse order of the calls below.
 */
#include "pki/x509.h"

#include "pki/spiffe.h"
#include "tls/tls.h"
#include "tls/tls_compat.h"

#include <mbedtls/asn1write.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Files we read (certificates, keys) are small; refuse anything bigger. */
#define PKI_FILE_MAX (1024 * 1024)

const char *pki_x509_strerror(int rc, char *buf, size_t cap)
{
    char text[128];
    mbedtls_strerror(rc, text, sizeof(text));
    snprintf(buf, cap, "-0x%04x (%s)", (unsigned)(rc < 0 ? -rc : rc), text);
    return buf;
}

int pki_x509_rng(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    /* mbedTLS wants an error code, not our message: map failure to one. */
    return tls_random(buf, len, NULL) == 0 ? 0 : MBEDTLS_ERR_ECP_RANDOM_FAILED;
}

int pki_x509_key_generate(mbedtls_pk_context *pk, struct weft_err *e)
{
    char eb[160];
    if (tls_lib_init(e) != 0)
        return -1;
    int rc = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    if (rc == 0)
        rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk), pki_x509_rng, NULL);
    if (rc != 0)
        return err_set(e, "generating a P-256 key failed: %s",
                       pki_x509_strerror(rc, eb, sizeof(eb)));
    return 0;
}

int pki_x509_key_pem(mbedtls_pk_context *pk, struct sbuf *out, struct weft_err *e)
{
    unsigned char buf[PKI_PEM_MAX];
    char eb[160];
    sbuf_reset(out);
    int rc = mbedtls_pk_write_key_pem(pk, buf, sizeof(buf));
    if (rc != 0) {
        mbedtls_platform_zeroize(buf, sizeof(buf));
        return err_set(e, "writing the key as PEM failed: %s",
                       pki_x509_strerror(rc, eb, sizeof(eb)));
    }
    sbuf_puts(out, (const char *)buf);
    mbedtls_platform_zeroize(buf, sizeof(buf));
    if (out->oom)
        return err_set(e, "out of memory");
    return 0;
}

int pki_x509_set_serial(mbedtls_x509write_cert *crt, struct weft_err *e)
{
    unsigned char serial[PKI_SERIAL_LEN];
    char eb[160];
    if (tls_random(serial, sizeof(serial), e) != 0)
        return -1;
    /* Positive (DER INTEGER without a 0x00 pad) and exactly 16 bytes long. */
    serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40);
    int rc = tls_compat_crt_set_serial(crt, serial, sizeof(serial));
    if (rc != 0)
        return err_set(e, "setting the serial failed: %s", pki_x509_strerror(rc, eb, sizeof(eb)));
    return 0;
}

/* Copy s into out[cap], cut to fit (snprintf "%s" trips -Wformat-truncation). */
static void copy_trunc(char *out, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's days_from_civil inverse). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

void pki_x509_unix_iso(int64_t unix_s, char out[21])
{
    int64_t days = unix_s >= 0 ? unix_s / 86400 : (unix_s - 86399) / 86400;
    int64_t rem = unix_s - days * 86400, y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    char tmp[64]; /* room for any int, so the compiler sees no truncation */
    snprintf(tmp, sizeof(tmp), "%04d-%02u-%02uT%02d:%02d:%02dZ", (int)(y % 10000), m, d,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    copy_trunc(out, 21, tmp);
}

int pki_x509_time_format(int64_t unix_s, char out[PKI_TIME_LEN], struct weft_err *e)
{
    int64_t days = unix_s >= 0 ? unix_s / 86400 : (unix_s - 86399) / 86400;
    int64_t rem = unix_s - days * 86400, y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 1950 || y > 9999)
        return err_set(e, "date out of range (year %lld)", (long long)y);
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%04d%02u%02u%02d%02d%02d", (int)y, m, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60));
    copy_trunc(out, PKI_TIME_LEN, tmp);
    return 0;
}

int pki_x509_set_validity(mbedtls_x509write_cert *crt, int64_t now, int64_t lifetime_s,
                          struct weft_err *e)
{
    char from[PKI_TIME_LEN], to[PKI_TIME_LEN], eb[160];
    if (pki_x509_time_format(now - PKI_BACKDATE_S, from, e) != 0 ||
        pki_x509_time_format(now + lifetime_s, to, e) != 0)
        return err_prefix(e, "validity");
    int rc = mbedtls_x509write_crt_set_validity(crt, from, to);
    if (rc != 0)
        return err_set(e, "setting the validity failed: %s", pki_x509_strerror(rc, eb, sizeof(eb)));
    return 0;
}

/*
 * DER of GeneralNames with one uniformResourceIdentifier ([6] IMPLICIT
 * IA5String), written backwards ending at *p. Returns its length or a
 * negative mbedTLS error (MBEDTLS_ASN1_CHK_ADD returns it).
 */
static int san_uri_der(unsigned char **p, unsigned char *start, const char *uri, size_t ulen)
{
    int ret;
    size_t len = 0;
    MBEDTLS_ASN1_CHK_ADD(len,
                         mbedtls_asn1_write_raw_buffer(p, start, (const unsigned char *)uri, ulen));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, ulen));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 6));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
    MBEDTLS_ASN1_CHK_ADD(
        len, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    return (int)len;
}

/* DER of ExtKeyUsageSyntax { serverAuth, clientAuth }, as san_uri_der. */
static int eku_der(unsigned char **p, unsigned char *start)
{
    int ret;
    size_t len = 0;
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, start, MBEDTLS_OID_CLIENT_AUTH,
                                                     MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, start, MBEDTLS_OID_SERVER_AUTH,
                                                     MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
    MBEDTLS_ASN1_CHK_ADD(
        len, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    return (int)len;
}

int pki_x509_set_san_uri(mbedtls_x509write_cert *crt, const char *uri, struct weft_err *e)
{
    unsigned char buf[SPIFFE_ID_MAX + 16] = {0}; /* zeroed: gcc -O2 cannot see it is write-only */
    unsigned char *p = buf + sizeof(buf);
    size_t ulen = strlen(uri);
    char eb[160];
    if (ulen == 0 || ulen > SPIFFE_ID_MAX)
        return err_set(e, "URI SAN of %zu bytes (want 1-%d)", ulen, SPIFFE_ID_MAX);
    int rc = san_uri_der(&p, buf, uri, ulen);
    if (rc >= 0)
        rc = mbedtls_x509write_crt_set_extension(crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                                 MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
                                                 p, (size_t)rc);
    if (rc != 0)
        return err_set(e, "writing the subjectAltName failed: %s",
                       pki_x509_strerror(rc, eb, sizeof(eb)));
    return 0;
}

int pki_x509_set_eku_server_client(mbedtls_x509write_cert *crt, struct weft_err *e)
{
    unsigned char buf[64] = {0};
    unsigned char *p = buf + sizeof(buf);
    char eb[160];
    int rc = eku_der(&p, buf);
    if (rc >= 0)
        rc = mbedtls_x509write_crt_set_extension(crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                                 MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE),
                                                 0, p, (size_t)rc);
    if (rc != 0)
        return err_set(e, "writing the extendedKeyUsage failed: %s",
                       pki_x509_strerror(rc, eb, sizeof(eb)));
    return 0;
}

int pki_x509_file_create(const char *path, const void *data, size_t len, unsigned mode,
                         struct weft_err *e)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, (mode_t)0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return err_set(e, "%s already exists; refusing to overwrite it", path);
        return err_set(e, "cannot create %s: %s", path, strerror(errno));
    }
    const unsigned char *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, p + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        off += (size_t)n;
    }
    /* fchmod, not the open mode: the umask must not change what we promise. */
    if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    return 0;
fail:
    err_set(e, "cannot write %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(path);
    return -1;
}

int pki_x509_file_read(const char *path, struct sbuf *out, struct weft_err *e)
{
    sbuf_reset(out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, "cannot open %s: %s", path, strerror(errno));
    char buf[4096];
    int bad = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            bad = err_set(e, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        sbuf_append(out, buf, (size_t)n);
        if (out->len > PKI_FILE_MAX) {
            bad = err_set(e, "%s is larger than %d bytes", path, PKI_FILE_MAX);
            break;
        }
    }
    mbedtls_platform_zeroize(buf, sizeof(buf)); /* may have held a key */
    close(fd);
    if (bad)
        return -1;
    if (out->oom)
        return err_set(e, "out of memory reading %s", path);
    sbuf_append(out, "", 0); /* NUL-terminated even when empty */
    return 0;
}

int pki_x509_sha256_hex(const unsigned char *der, size_t len, char out[65], struct weft_err *e)
{
    unsigned char md[32];
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (!info || mbedtls_md(info, der, len, md) != 0)
        return err_set(e, "SHA-256 failed");
    for (size_t i = 0; i < sizeof(md); i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

void pki_x509_time_iso(const mbedtls_x509_time *t, char out[21])
{
    char tmp[96];
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02dZ", t->year, t->mon, t->day, t->hour,
             t->min, t->sec);
    copy_trunc(out, 21, tmp);
}

/* A civil date to days since 1970-01-01 (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int64_t pki_x509_time_unix(const mbedtls_x509_time *t)
{
    return days_from_civil(t->year, (unsigned)t->mon, (unsigned)t->day) * 86400 + t->hour * 3600 +
           t->min * 60 + t->sec;
}
