/* EC2 SigV2 signing and the cfn source against an in-process heat-api-cfn stand-in that checks the
 * signature with its own code (libcrypto directly), plus the hand-written XML reader. */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "openstack/ec2sign.h"
#include "source/source-internal.h"
#include "source/source.h"
#include "tap.h"
#include "testsrv.h"

#define ACCESS "00dc41798c964e96bb20bcf083c3b0ae"
#define SECRET "xU#1gX1smon%@fN!FXdydE17@RiyC7ki"

#define XML_HEAD                                                                                             \
        "<DescribeStackResourceResponse><DescribeStackResourceResult><StackResourceDetail>"                  \
        "<StackId>arn:openstack:heat::p:stacks/pcfn/0c3e</StackId><Description/>"                            \
        "<LogicalResourceId>%s</LogicalResourceId><ResourceStatus>CREATE_COMPLETE</ResourceStatus>"
#define XML_TAIL                                                                                             \
        "<ResourceType>OS::Heat::DeployedServer</ResourceType></StackResourceDetail>"                        \
        "</DescribeStackResourceResult></DescribeStackResourceResponse>"

typedef struct Lab {
        unsigned status;
        bool bad_xml;
        bool hang;
        unsigned bad_signatures;
} Lab;

static int hexval(char c) {
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                      : -1;
}

static char *percent_decode(const char *s, size_t n) {
        char *out = xmalloc(n + 1), *o = out;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '%' && i + 2 < n + 1 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
                        *o++ = (char) (hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
                        i += 2;
                } else
                        *o++ = s[i];
        }
        *o = '\0';
        return out;
}

static int strp_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The server's own check: the pairs as received minus Signature, sorted, HMAC-SHA256 over
 * "GET\n<Host header>\n<path>\n<pairs>". Returns true when the signature matches. */
static bool signature_ok(const TestRequest *req) {
        char *pairs[16];
        size_t n = 0;
        _cleanup_free_ char *sig = NULL;
        _cleanup_free_ char *q = xstrdup(req->query ? req->query : "");

        for (char *save = NULL, *p = strtok_r(q, "&", &save); p && n < 16; p = strtok_r(NULL, "&", &save)) {
                if (strncmp(p, "Signature=", 10) == 0)
                        sig = percent_decode(p + 10, strlen(p + 10));
                else
                        pairs[n++] = p;
        }
        if (!sig)
                return false;
        qsort(pairs, n, sizeof(char *), strp_cmp);
        size_t len = 0;
        char buf[4096];
        len += (size_t) snprintf(buf, sizeof(buf), "GET\n%s\n%s\n", testreq_header(req, "Host"), req->path);
        for (size_t i = 0; i < n; i++)
                len += (size_t) snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "&" : "", pairs[i]);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        HMAC(EVP_sha256(), SECRET, (int) strlen(SECRET), (unsigned char *) buf, len, md, &md_len);
        char b64[128];
        EVP_EncodeBlock((unsigned char *) b64, md, (int) md_len);
        return strcmp(b64, sig) == 0;
}

static void handler(TestServer *srv, const TestRequest *req, TestReply *reply, void *userdata) {
        Lab *lab = userdata;

        if (lab->hang) {
                reply->mode = TEST_REPLY_HANG;
                return;
        }
        if (strcmp(req->path, "/v1/") != 0 || !signature_ok(req)) {
                lab->bad_signatures++;
                testreply_set(reply, 403,
                              "<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>");
                return;
        }
        if (lab->status) {
                testreply_set(reply, lab->status, "<ErrorResponse/>");
                return;
        }
        if (lab->bad_xml) {
                testreply_set(reply, 200, "{\"not\": \"xml\"}");
                return;
        }
        if (strstr(req->query, "LogicalResourceId=server&"))
                testreply_set(reply, 200,
                              XML_HEAD
                              "<Metadata>{&quot;deployments&quot;: [{&quot;id&quot;: &quot;d1&quot;, "
                              "&quot;config&quot;: &quot;a &lt; b &amp;&amp; c &gt; d caf&#233; &#x263A; "
                              "&apos;q&apos;&quot;}], "
                              "&quot;os-collect-config&quot;: {&quot;collectors&quot;: "
                              "[&quot;cfn&quot;]}}</Metadata>" XML_TAIL,
                              "server");
        else
                testreply_set(
                        reply, 200,
                        XML_HEAD
                        "<Metadata>{\"extra\": {\"deployments\": \"other\", \"x\": 1}}</Metadata>" XML_TAIL,
                        "other");
}

static void test_signer(void) {
        const PhEc2Param odd[] = {{"Z", "+=&"}, {"StackName", "a b/c~d*e\xc3\xa9"}};
        _cleanup_free_ char *q = ec2_canonical_query(odd, ELEMENTSOF(odd));
        /* Python: '&'.join(quote(k, safe='') + '=' + quote(v, safe='-_~') for k in sorted(p)) */
        TAP_CHECK_STR(q, "StackName=a%20b%2Fc~d%2Ae%C3%A9&Z=%2B%3D%26");

        const PhEc2Param p[] = {
                {"Action", "DescribeStackResource"}, {"StackName", "pcfn"},
                {"LogicalResourceId", "server"},     {"AWSAccessKeyId", ACCESS},
                {"SignatureVersion", "2"},           {"SignatureMethod", "HmacSHA256"},
        };
        _cleanup_free_ char *cq = ec2_canonical_query(p, ELEMENTSOF(p));
        _cleanup_free_ char *sts = ec2_string_to_sign("GET", "127.0.0.1:8000", "/v1/", cq);
        TAP_CHECK_STR(
                sts,
                "GET\n127.0.0.1:8000\n/v1/\nAWSAccessKeyId=" ACCESS "&Action=DescribeStackResource"
                "&LogicalResourceId=server&SignatureMethod=HmacSHA256&SignatureVersion=2&StackName=pcfn");
        /* printf '<string to sign>' | openssl dgst -sha256 -hmac '<secret>' -binary | base64 */
        _cleanup_free_ char *sig = ec2_signature(SECRET, sts);
        TAP_CHECK_STR(sig, "7kn2VQkTZmfUirhOGpmAAh6VBaKLJT+gYOElmNWc2n4=");

        _cleanup_free_ char *url = NULL;
        _cleanup_error_ PhError *err = NULL;
        TAP_CHECK(ec2_signed_get_url("http://127.0.0.1:8000/v1/", p, 3, ACCESS, SECRET, &url, &err) == 0);
        TAP_CHECK_STR(url,
                      "http://127.0.0.1:8000/v1/?AWSAccessKeyId=" ACCESS "&Action=DescribeStackResource"
                      "&LogicalResourceId=server&SignatureMethod=HmacSHA256&SignatureVersion=2&StackName=pcfn"
                      "&Signature=7kn2VQkTZmfUirhOGpmAAh6VBaKLJT%2BgYOElmNWc2n4%3D");
        /* libcurl sends "Host: h" for h:80 and h:443 over https, and the server signs that Host: so
         * must the agent. The URL itself is sent as given. */
        const char *default_ports[][3] = {{"http://h:80/v1/", "h", "http://h:80/v1/"},
                                          {"https://[::1]:443/v1/", "[::1]", "https://[::1]:443/v1/"},
                                          {"https://h:8443/v1/", "h:8443", "https://h:8443/v1/"}};
        for (size_t i = 0; i < ELEMENTSOF(default_ports); i++) {
                _cleanup_free_ char *u = NULL;
                _cleanup_free_ char *s = ec2_string_to_sign("GET", default_ports[i][1], "/v1/", cq);
                _cleanup_free_ char *sg = ec2_signature(SECRET, s);
                _cleanup_free_ char *sgq = http_escape(sg);
                _cleanup_free_ char *want = xasprintf("%s?%s&Signature=%s", default_ports[i][2], cq, sgq);
                TAP_CHECK(ec2_signed_get_url(default_ports[i][0], p, 3, ACCESS, SECRET, &u, &err) == 0);
                TAP_CHECK_STR(u, want);
        }
        TAP_CHECK(ec2_signed_get_url("http://h/v1/?x=1", p, 3, ACCESS, SECRET, &url, &err) == -EINVAL);
        TAP_CHECK(ec2_signed_get_url("ftp://h/v1/", p, 3, ACCESS, SECRET, &url, &err) == -EINVAL);
}

static void xml_case(const char *xml, const char *field, int want_r, const char *want) {
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ PhError *err = NULL;
        int r = source_cfn_xml_text(xml, strlen(xml), field, &text, &err);
        TAP_CHECK(r == want_r);
        if (want)
                TAP_CHECK_STR(text, want);
        else
                TAP_CHECK(!text);
}

static void test_xml(void) {
        xml_case(
                "<?xml version=\"1.0\"?><R xmlns=\"x\"><DescribeStackResourceResult><StackResourceDetail "
                "a='>'>"
                "<MetadataX>no</MetadataX><!-- <Metadata>no</Metadata> --><Metadata>&lt;&gt;&amp;&quot;&apos;"
                "&#65;&#x42;&#xe9;&#x1F600;<![CDATA[<raw &amp;>]]>\"x\"</Metadata></StackResourceDetail>"
                "</DescribeStackResourceResult></R>",
                "Metadata", 0, "<>&\"'AB\xc3\xa9\xf0\x9f\x98\x80<raw &amp;>\"x\"");
        xml_case("<DescribeStackResourceResult><StackResourceDetail><Metadata/></StackResourceDetail>"
                 "</DescribeStackResourceResult>",
                 "Metadata", 0, "");
        xml_case("<DescribeStackResourceResult><StackResourceDetail><Other>1</Other></StackResourceDetail>"
                 "</DescribeStackResourceResult>",
                 "Metadata", -ENOENT, NULL);
        xml_case("<Metadata>{}</Metadata>", "Metadata", -EBADMSG, NULL);
        xml_case("<DescribeStackResourceResult><StackResourceDetail><Metadata>{<b>x</b>}</Metadata>"
                 "</StackResourceDetail></DescribeStackResourceResult>",
                 "Metadata", -EBADMSG, NULL);
        xml_case("<DescribeStackResourceResult><StackResourceDetail><Metadata>&bogus;</Metadata>"
                 "</StackResourceDetail></DescribeStackResourceResult>",
                 "Metadata", -EBADMSG, NULL);
        xml_case("<DescribeStackResourceResult><StackResourceDetail><Metadata>&#0;</Metadata>"
                 "</StackResourceDetail></DescribeStackResourceResult>",
                 "Metadata", -EBADMSG, NULL);
        xml_case("<DescribeStackResourceResult><StackResourceDetail><Metadata>unclosed"
                 "</StackResourceDetail></DescribeStackResourceResult>",
                 "Metadata", -EBADMSG, NULL);
        xml_case("<!DOCTYPE x [<!ENTITY e \"y\">]><DescribeStackResourceResult><StackResourceDetail>"
                 "<Metadata>&e;</Metadata></StackResourceDetail></DescribeStackResourceResult>",
                 "Metadata", -EBADMSG, NULL);
        /* End tags may carry white space before '>'; same-name nesting, out-of-range or overlong
         * character references and a document cut short are refused. */
        xml_case("<DescribeStackResourceResult\n><StackResourceDetail><Metadata>{}</Metadata\n></"
                 "StackResourceDetail\t>"
                 "</DescribeStackResourceResult\r\n>",
                 "Metadata", 0, "{}");
        xml_case("<DescribeStackResourceResult><StackResourceDetail><Metadata><Metadata>{}</Metadata></"
                 "Metadata>"
                 "</StackResourceDetail></DescribeStackResourceResult>",
                 "Metadata", -EBADMSG, NULL);
        xml_case("<DescribeStackResourceResult><StackResourceDetail><Metadata>&#x110000;</Metadata>"
                 "</StackResourceDetail></DescribeStackResourceResult>",
                 "Metadata", -EBADMSG, NULL);
        xml_case("<DescribeStackResourceResult><StackResourceDetail><Metadata>&#99999999999999999999999;</"
                 "Metadata>"
                 "</StackResourceDetail></DescribeStackResourceResult>",
                 "Metadata", -EBADMSG, NULL);
        xml_case("<DescribeStackResourceResult><StackResourceDetail><Metadata>{}</Metadata></"
                 "StackResourceDetail>",
                 "Metadata", -EBADMSG, NULL);
        /* A NUL byte would cut the JSON short without a word. */
        static const char nul[] =
                "<DescribeStackResourceResult><StackResourceDetail><Metadata>{}\0, \"x\"</Metadata>"
                "</StackResourceDetail></DescribeStackResourceResult>";
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ PhError *err = NULL;
        TAP_CHECK(source_cfn_xml_text(nul, sizeof(nul) - 1, "Metadata", &text, &err) == -EBADMSG && !text);
}

static json_t *cfn_section(TestServer *srv, json_t *path) {
        char url[128];
        snprintf(url, sizeof(url), "%s/v1/", testsrv_url(srv));
        return json_pack("{s:s,s:s,s:s,s:s,s:o}", "metadata_url", url, "access_key_id", ACCESS,
                         "secret_access_key", SECRET, "stack_name", "pcfn", "path", path);
}

static void no_secret(const PhError *err) {
        const char *m = ph_error_msg(err);
        TAP_CHECK(!strstr(m, SECRET) && !strstr(m, "Signature") && !strstr(m, ACCESS));
}

static void test_source(void) {
        Lab lab = {};
        TestServer *srv = testsrv_start(handler, &lab);
        _cleanup_error_ PhError *err = NULL;
        _cleanup_(source_freep) PhSource *s = NULL;
        json_auto_t *sec = cfn_section(srv, json_string("server.Metadata"));
        int r;

        TAP_CHECK(source_new("cfn", sec, NULL, &s, &err) == 0);
        json_auto_t *md = NULL;
        r = source_collect(s, &md, &err);
        TAP_CHECK(r == 0);
        json_auto_t *want = json_pack("{s:[{s:s,s:s}],s:{s:[s]}}", "deployments", "id", "d1", "config",
                                      "a < b && c > d caf\xc3\xa9 \xe2\x98\xba 'q'", "os-collect-config",
                                      "collectors", "cfn");
        TAP_CHECK(md && json_equal(md, want));
        TAP_CHECK(lab.bad_signatures == 0);
        const TestRequest *req = testsrv_request(srv, 0);
        TAP_CHECK_STR(req ? req->method : NULL, "GET");
        TAP_CHECK_HAS(req ? req->query : NULL,
                      "Action=DescribeStackResource&LogicalResourceId=server&SignatureMethod="
                      "HmacSHA256&SignatureVersion=2&StackName=pcfn&Signature=");

        /* Failures: 500, 403 (bad key), not XML, no answer; never the secret or the signature. */
        lab.status = 500;
        json_t *none = NULL;
        TAP_CHECK(source_collect(s, &none, &err) < 0 && !none);
        TAP_CHECK_HAS(ph_error_msg(err), "HTTP 500");
        no_secret(err);
        lab.status = 0;
        lab.bad_xml = true;
        TAP_CHECK(source_collect(s, &none, &err) == -EBADMSG && !none);
        no_secret(err);
        lab.bad_xml = false;

        json_auto_t *bad = cfn_section(srv, json_string("server.Metadata"));
        json_object_set_new(bad, "secret_access_key", json_string("wrong-key"));
        _cleanup_(source_freep) PhSource *sb = NULL;
        TAP_CHECK(source_new("cfn", bad, NULL, &sb, &err) == 0);
        TAP_CHECK(source_collect(sb, &none, &err) == -EACCES && !none);
        TAP_CHECK(lab.bad_signatures == 1);
        TAP_CHECK(!strstr(ph_error_msg(err), "wrong-key"));
        no_secret(err);

        /* Two paths, a sub-key: shallow merge in path order. */
        json_auto_t *two = cfn_section(srv, json_pack("[s,s]", "server.Metadata", "other.Metadata.extra"));
        _cleanup_(source_freep) PhSource *s2 = NULL;
        TAP_CHECK(source_new("cfn", two, NULL, &s2, &err) == 0);
        json_auto_t *md2 = NULL;
        TAP_CHECK(source_collect(s2, &md2, &err) == 0);
        TAP_CHECK_STR(json_string_value(json_object_get(md2, "deployments")), "other");
        TAP_CHECK(json_integer_value(json_object_get(md2, "x")) == 1);
        TAP_CHECK(json_object_get(md2, "os-collect-config") != NULL);

        /* No answer: an error within the timeout. */
        lab.hang = true;
        _cleanup_(source_freep) PhSource *s3 = NULL;
        TAP_CHECK(source_new("cfn", sec, &(PhSourceOptions){.timeout_ms = 500}, &s3, &err) == 0);
        TAP_CHECK(source_collect(s3, &none, &err) == -ETIMEDOUT && !none);
        no_secret(err);
        testsrv_stop(srv);
}

static void test_config(void) {
        _cleanup_error_ PhError *err = NULL;
        PhSource *s = NULL;
        json_auto_t *sec = json_pack("{s:s,s:n}", "access_key_id", "a", "heat");
        TAP_CHECK(source_new("cfn", sec, NULL, &s, &err) == -EINVAL);
        TAP_CHECK_STR(ph_error_msg(err), "cfn: missing metadata_url, secret_access_key, stack_name, path");
        json_auto_t *sec2 =
                json_pack("{s:s,s:s,s:s,s:s,s:s}", "metadata_url", "http://h/v1/", "access_key_id", "a",
                          "secret_access_key", "b", "stack_name", "c", "path", "nodot");
        TAP_CHECK(source_new("cfn", sec2, NULL, &s, &err) == -EINVAL);
        TAP_CHECK_HAS(ph_error_msg(err), "path 'nodot' is not Resource.Field");
}

int main(void) {
        test_signer();
        test_xml();
        test_source();
        test_config();
        return tap_done();
}
