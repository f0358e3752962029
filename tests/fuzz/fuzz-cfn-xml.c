/* The cfn source's hand-written XML reader (source_cfn_xml_text) on heat-api-cfn's DescribeStackResource
 * answer, then the JSON text of the field as cfn_fetch reads it. Promises: an error is -ENOENT or
 * -EBADMSG with a message and no text; a text is never longer than the answer. Where libxml2 is found
 * at build time it is the oracle: whenever our reader gives a text for a document that libxml2 finds
 * well-formed, libxml2 reads the same element and the same characters. (Not the other way round: our
 * reader refuses processing instructions and child elements in the text, and character references
 * longer than 12 bytes, which libxml2 takes.) */
#include <errno.h>
#include <jansson.h>

#include "fuzz.h"
#include "source/source-internal.h"

#ifdef FUZZ_HAVE_LIBXML2
#include <libxml/parser.h>
#include <libxml/xpath.h>

static void quiet(void *ctx, const char *msg, ...) {
}

/* The element our reader looks for, as libxml2 reads the document: NULL when it is not well-formed
 * UTF-8 XML without a DTD, or has no such element. *ret_text: its characters (text and CDATA). */
static xmlDocPtr libxml2_read(const char *xml, size_t len, const char *field, char **ret_text) {
        static bool init;
        if (!init) {
                xmlInitParser();
                xmlSetGenericErrorFunc(NULL, quiet);
                init = true;
        }
        *ret_text = NULL;
        xmlDocPtr doc = xmlReadMemory(xml, (int) len, "fuzz.xml", "UTF-8",
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc)
                return NULL;
        if (doc->intSubset || doc->extSubset)
                return doc;
        _cleanup_free_ char *expr = xasprintf("(((//*[name()='DescribeStackResourceResult'])[1]"
                                              "//*[name()='StackResourceDetail'])[1]//*[name()='%s'])[1]",
                                              field);
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        xmlXPathObjectPtr res = xmlXPathEvalExpression((const xmlChar *) expr, ctx);
        if (res && res->nodesetval && res->nodesetval->nodeNr == 1) {
                xmlNodePtr node = res->nodesetval->nodeTab[0];
                xmlChar *c = xmlNodeGetContent(node);
                *ret_text = xstrdup(c ? (const char *) c : "");
                xmlFree(c);
        }
        xmlXPathFreeObject(res);
        xmlXPathFreeContext(ctx);
        return doc;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *xml = (const char *) data;
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ PhError *err = NULL;
        int r = source_cfn_xml_text(xml, size, "Metadata", &text, &err);

        if (r < 0) {
                FUZZ_CHECK(r == -ENOENT || r == -EBADMSG);
                FUZZ_CHECK(err && err->msg && !text);
                return 0;
        }
        FUZZ_CHECK(r == 0 && text && !err);
        FUZZ_CHECK(strlen(text) <= size);

        /* What cfn_fetch does with the text. */
        json_error_t jerr;
        json_t *doc = json_loads(text, JSON_DECODE_ANY, &jerr);
        json_decref(doc);

#ifdef FUZZ_HAVE_LIBXML2
        /* XML normalises line ends (CR LF and CR become LF) where our reader keeps them: JSON does not
         * care, so documents with a CR are left out of the comparison. */
        if (memchr(xml, '\r', size))
                return 0;
        _cleanup_free_ char *want = NULL;
        xmlDocPtr x = libxml2_read(xml, size, "Metadata", &want);
        if (x && !x->intSubset && !x->extSubset) {
                if (!want)
                        fprintf(stderr, "libxml2 finds no Metadata element; we read \"%s\"\n", text);
                else if (strcmp(want, text) != 0)
                        fprintf(stderr, "libxml2 reads \"%s\"; we read \"%s\"\n", want, text);
                FUZZ_CHECK(want && strcmp(want, text) == 0);
        }
        xmlFreeDoc(x);
#endif
        return 0;
}
