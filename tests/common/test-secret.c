#include <jansson.h>

#include "common/cleanup.h"
#include "common/secret.h"
#include "tap.h"

static void test_names(void) {
        static const char *const secret[] = {
                "DB_PASS",
                "mysql_root_pw",
                "PGPASSFILE_CONTENT",
                "AUTH",
                "api_key",
                "x-auth-token",
                "dbPw",
                "PW",
                "root.pw",
                "Authorization",
                "SSH_KEY",
                "privateKey",
                "OS_PASSWORD",
                "client-secret",
                "Credentials",
                "signal_id",
                "metadata_url",
                "X-Auth-Token",
                "passphrase",
                "apikey",
                "KEY",
                "aws_access_key_id",
                "token_url",
        };
        static const char *const plain[] = {
                "PWD",
                "KEYBOARD_LAYOUT",
                "MONKEY",
                "GOPATH",
                "auth_url",
                "OS_AUTH_URL",
                "deploy_auth_url",
                "keystone_uri",
                "HOME",
                "OLDPWD",
                "pwd",
                "SWAP",
                "keyboard",
        };
        for (size_t i = 0; i < ELEMENTSOF(secret); i++)
                if (!TAP_CHECK(secret_name_is_secret(secret[i])))
                        printf("# %s should be secret\n", secret[i]);
        for (size_t i = 0; i < ELEMENTSOF(plain); i++)
                if (!TAP_CHECK(!secret_name_is_secret(plain[i])))
                        printf("# %s should not be secret\n", plain[i]);
}

/* An inspect array: secrets found by name (env), in commands (--NAME=value, --NAME value) and in URL user
 * info, then replaced wherever they appear, in this container or another. */
static void test_redact_deep(void) {
        json_auto_t *inspect = json_loads(
                "[{\"Config\": {\"Env\": [\"DB_PASS=DbPassValue1\", \"CONN=mysql://u:DbPassValue1@db/x\","
                " \"PWD=/srv\", \"KEYBOARD_LAYOUT=us-intl\", \"AUTH=AuthValue22\", \"SHORT_PW=abc\"],"
                " \"Cmd\": [\"sh\", \"-c\", \"run --password=CmdLinePw44 --token TokenArg55 --verbose\","
                " \"--api-key\", \"ApiKeyArg66\", \"--keyboard\", \"dvorak\"],"
                " \"Labels\": {\"note\": \"uses AuthValue22\", \"vault-token\": \"LabelTok77\"}},"
                " \"Args\": [\"-c\", \"run --password=CmdLinePw44\"]},"
                " {\"Config\": {\"Env\": [\"BACKUP=ftp://u:AuthValue22@h/\", "
                "\"URL=http://admin:UrlPass88@k:5000/v3\","
                " \"MENTION=LabelTok77\"]}}]",
                0, NULL);
        _cleanup_strv_free_ char **none = NULL;

        TAP_CHECK(inspect != NULL);
        secret_redact_deep(inspect, NULL);
        _cleanup_free_ char *text = json_dumps(inspect, JSON_COMPACT);
        static const char *const gone[] = {"DbPassValue1", "AuthValue22", "CmdLinePw44", "TokenArg55",
                                           "ApiKeyArg66",  "LabelTok77",  "UrlPass88"};
        for (size_t i = 0; i < ELEMENTSOF(gone); i++)
                if (!TAP_CHECK(!strstr(text, gone[i])))
                        printf("# %s left in %s\n", gone[i], text);
        TAP_CHECK_HAS(text, "\"DB_PASS=<redacted>\"");
        TAP_CHECK_HAS(text, "\"CONN=mysql://u:<redacted>@db/x\"");
        TAP_CHECK_HAS(text, "\"PWD=/srv\"");
        TAP_CHECK_HAS(text, "\"KEYBOARD_LAYOUT=us-intl\"");
        TAP_CHECK_HAS(text,
                      "\"SHORT_PW=<redacted>\""); /* by name: redacted; too short to hunt for elsewhere */
        TAP_CHECK_HAS(text, "run --password=<redacted> --token <redacted> --verbose");
        TAP_CHECK_HAS(text, "\"--api-key\",\"<redacted>\",\"--keyboard\",\"dvorak\"");
        TAP_CHECK_HAS(text, "\"note\":\"uses <redacted>\"");
        TAP_CHECK_HAS(text, "\"vault-token\":\"<redacted>\"");
        TAP_CHECK_HAS(text, "\"URL=http://admin:<redacted>@k:5000/v3\"");
        TAP_CHECK_HAS(text, "\"MENTION=<redacted>\"");

        /* Values from elsewhere (a deployment's inputs), also in their JSON-escaped form inside a text. */
        json_auto_t *result = json_pack("{s:s}", "deploy_stdout", "[{\"Env\":[\"Q=say \\\"hi\\\" x\"]}]");
        char *extra[] = {(char *) "say \"hi\" x", NULL};
        secret_redact_deep(result, extra);
        TAP_CHECK_STR(json_string_value(json_object_get(result, "deploy_stdout")),
                      "[{\"Env\":[\"Q=<redacted>\"]}]");

        /* A URL's user info loses its password however short, in any string. */
        json_auto_t *occ = json_pack("{s:{s:s,s:s}}", "heat", "auth_url", "http://admin:pw@keystone:5000/v3",
                                     "user_id", "u1");
        secret_redact_deep(occ, NULL);
        TAP_CHECK_STR(json_string_value(json_object_get(json_object_get(occ, "heat"), "auth_url")),
                      "http://admin:<redacted>@keystone:5000/v3");
        TAP_CHECK_STR(json_string_value(json_object_get(json_object_get(occ, "heat"), "user_id")), "u1");
}

int main(void) {
        test_names();
        test_redact_deep();
        TAP_CHECK(secret_name_is_secret("deploy_password"));
        TAP_CHECK(secret_name_is_secret("DB_PASSWORD"));
        TAP_CHECK(secret_name_is_secret("secret_access_key"));
        TAP_CHECK(secret_name_is_secret("API_KEY"));
        TAP_CHECK(!secret_name_is_secret("GOPATH"));
        TAP_CHECK(!secret_name_is_secret("MONKEY"));
        TAP_CHECK(secret_url_is_signed("http://h:8000/v1/signal/x?Timestamp=1&Signature=abc"));
        TAP_CHECK(!secret_url_is_signed("http://h:8000/v1/"));

        json_auto_t *env = json_pack("[s,s]", "GOPATH=/usr/bin", "DB_PASSWORD=hunter2");
        secret_redact_env_array(env);
        TAP_CHECK_STR(json_string_value(json_array_get(env, 1)), "DB_PASSWORD=<redacted>");
        TAP_CHECK_STR(json_string_value(json_array_get(env, 0)), "GOPATH=/usr/bin");

        json_auto_t *inputs = json_pack("{s:[{s:s,s:s},{s:s,s:s}],s:s}", "inputs", "name", "deploy_password",
                                        "value", "pw", "name", "port", "value", "80", "deploy_signal_id",
                                        "http://h/v1/signal?Signature=x");
        secret_redact_json(inputs);
        _cleanup_free_ char *text = json_dumps(inputs, JSON_COMPACT | JSON_SORT_KEYS);
        TAP_CHECK(strstr(text, "pw") == NULL);
        TAP_CHECK(strstr(text, "Signature") == NULL);
        TAP_CHECK_HAS(text, "\"80\"");

        json_auto_t *list = json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "name", "deploy_password",
                                      "value", "pw-Secret-1", "name", "deploy_signal_id", "value",
                                      "http://h/v1/signal/arn?Signature=abc", "name", "port", "value", "8080",
                                      "name", "api_token", "value", "abc");
        _cleanup_strv_free_ char **values = secret_values_of_inputs(list);
        TAP_CHECK(strv_length(values) == 2); /* the 3-character token is too short to scrub safely */
        json_auto_t *result = json_pack(
                "{s:s, s:[s], s:i}", "deploy_stdout", "login pw-Secret-1 ok pw-Secret-1", "deploy_stderr",
                "POST http://h/v1/signal/arn?Signature=abc failed", "deploy_status_code", 0);
        secret_scrub_json(result, values);
        TAP_CHECK_STR(json_string_value(json_object_get(result, "deploy_stdout")),
                      "login <redacted> ok <redacted>");
        TAP_CHECK_STR(json_string_value(json_array_get(json_object_get(result, "deploy_stderr"), 0)),
                      "POST <redacted> failed");
        TAP_CHECK(json_integer_value(json_object_get(result, "deploy_status_code")) == 0);
        return tap_done();
}
