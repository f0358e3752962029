#include <jansson.h>

#include "common/cleanup.h"
#include "common/secret.h"
#include "tap.h"

int main(void) {
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

        json_auto_t *list = json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "name", "deploy_password", "value",
                                      "pw-Secret-1", "name", "deploy_signal_id", "value",
                                      "http://h/v1/signal/arn?Signature=abc", "name", "port", "value", "8080", "name",
                                      "api_token", "value", "abc");
        _cleanup_strv_free_ char **values = secret_values_of_inputs(list);
        TAP_CHECK(strv_length(values) == 2); /* the 3-character token is too short to scrub safely */
        json_auto_t *result = json_pack("{s:s, s:[s], s:i}", "deploy_stdout", "login pw-Secret-1 ok pw-Secret-1",
                                        "deploy_stderr", "POST http://h/v1/signal/arn?Signature=abc failed",
                                        "deploy_status_code", 0);
        secret_scrub_json(result, values);
        TAP_CHECK_STR(json_string_value(json_object_get(result, "deploy_stdout")), "login <redacted> ok <redacted>");
        TAP_CHECK_STR(json_string_value(json_array_get(json_object_get(result, "deploy_stderr"), 0)),
                      "POST <redacted> failed");
        TAP_CHECK(json_integer_value(json_object_get(result, "deploy_status_code")) == 0);
        return tap_done();
}
