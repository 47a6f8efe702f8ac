/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VM's options from its libvirt domain definition, so that an
 * orchestrator passes the VM as it is defined (ECOSYSTEM.md, libvirt):
 *   <cpu mode='host-passthrough'> (anything else: cpregd cannot judge it),
 *   its <feature policy='disable' name='sve'/> and sveNNN features,
 *   <features><pmu state='off'/></features>,
 *   QEMU -cpu host properties passed through <qemu:commandline> as
 *   "-global host-arm-cpu.PROP=VALUE" or "-cpu host,PROP=VALUE", or through
 *   <qemu:override>: the options of the library's table (lib/vmopts.c).
 * libxml2 parses it (what libvirt itself uses); the QEMU namespace is
 * resolved by its URI, not its prefix.  Anything not understood is an
 * error that names the element and its line, never a guess.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"

#ifdef HAVE_LIBXML2
#include <libxml/parser.h>
#include <libxml/tree.h>

#define QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

static int err_at(char *buf, size_t len, const char *path, const xmlNode *n, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int err_at(char *buf, size_t len, const char *path, const xmlNode *n, const char *fmt, ...)
{
	va_list ap;
	int off = snprintf(buf, len, "%s:%ld: ", path, n ? xmlGetLineNo(n) : 0L);

	va_start(ap, fmt);
	if (off >= 0 && (size_t)off < len)
		vsnprintf(buf + off, len - (size_t)off, fmt, ap);
	va_end(ap);
	return -1;
}

static bool is(const xmlNode *n, const char *name, const char *ns)
{
	if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
		return false;
	if (!ns)
		return !n->ns || !n->ns->href;
	return n->ns && n->ns->href && strcmp((const char *)n->ns->href, ns) == 0;
}

static char *prop(const xmlNode *n, const char *name)
{
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

/* One "name=value" QEMU property of the host CPU. */
static int cpu_prop(const char *kv, struct cpreg_vm_options *vm, char *buf, size_t len, const char *path,
		    const xmlNode *n)
{
	char name[64], value[64];
	const char *eq = strchr(kv, '=');

	if (!eq || (size_t)(eq - kv) >= sizeof(name) || strlen(eq + 1) >= sizeof(value))
		return err_at(buf, len, path, n, "expected PROPERTY=VALUE, got \"%s\"", kv);
	memcpy(name, kv, (size_t)(eq - kv));
	name[eq - kv] = '\0';
	snprintf(value, sizeof(value), "%s", eq + 1);
	{
		/* The options table knows the property, its values and QEMU's bounds. */
		struct cpreg_error e = { 0 };
		const struct cpreg_vm_option *o = cpreg_vm_option_find(name);
		char names[128];
		int r;

		if (!o) {
			cpreg_vm_option_names(true, names, sizeof(names));
			return err_at(buf, len, path, n, "QEMU CPU property \"%s\" is not one cpregd understands (%s)", name,
				      names);
		}
		r = cpreg_vm_option_set(vm, o, value, &e);
		if (r < 0)
			return err_at(buf, len, path, n, "%s: %s", name, e.message);
		return 0;
	}
}

static int cpu_element(const xmlNode *cpu, struct cpreg_vm_options *vm, char *buf, size_t len, const char *path)
{
	char *mode = prop(cpu, "mode");
	unsigned max_required = 0;
	int r = 0;

	if (!mode || strcmp(mode, "host-passthrough") != 0) {
		r = err_at(buf, len, path, cpu, "<cpu mode='%s'>: cpregd judges host-passthrough VMs only (the only CPU "
			   "mode KVM on arm64 migrates)", mode ? mode : "(none)");
		xmlFree(mode);
		return r;
	}
	xmlFree(mode);
	for (const xmlNode *f = cpu->children; f && r == 0; f = f->next) {
		char *name, *policy;

		if (f->type != XML_ELEMENT_NODE)
			continue;
		if (!is(f, "feature", NULL)) {
			if (is(f, "cache", NULL) || is(f, "topology", NULL) || is(f, "numa", NULL))
				continue;  /* no effect on the cpreg list */
			r = err_at(buf, len, path, f, "<cpu><%s>: not an element cpregd understands", (const char *)f->name);
			break;
		}
		name = prop(f, "name");
		policy = prop(f, "policy");
		if (!name || !policy) {
			r = err_at(buf, len, path, f, "<feature>: needs name and policy");
		} else if (strcmp(name, "sve") == 0) {
			if (strcmp(policy, "disable") == 0 || strcmp(policy, "forbid") == 0)
				vm->disable |= 1u << CPREG_FEAT_SVE;
			else if (strcmp(policy, "require") != 0 && strcmp(policy, "force") != 0)
				r = err_at(buf, len, path, f, "<feature name='sve' policy='%s'>: unknown policy", policy);
		} else if (strncmp(name, "sve", 3) == 0 && atoi(name + 3) >= 128 && atoi(name + 3) % 128 == 0) {
			/* sveNNN: the vector lengths; the largest required one bounds them (sve-max-vq). */
			unsigned vq = (unsigned)atoi(name + 3) / 128;

			if (strcmp(policy, "require") == 0 || strcmp(policy, "force") == 0)
				max_required = vq > max_required ? vq : max_required;
			else if (strcmp(policy, "disable") != 0 && strcmp(policy, "forbid") != 0)
				r = err_at(buf, len, path, f, "<feature name='%s' policy='%s'>: unknown policy", name, policy);
		} else {
			r = err_at(buf, len, path, f, "<feature name='%s'>: not a feature cpregd understands on aarch64 "
				   "(sve, sve128...sve2048)", name);
		}
		xmlFree(name);
		xmlFree(policy);
	}
	if (r == 0 && max_required)
		vm->sve_max_vq = max_required;
	return r;
}

static int qemu_commandline(const xmlNode *cl, struct cpreg_vm_options *vm, char *buf, size_t len, const char *path)
{
	const xmlNode *prev = NULL;

	for (const xmlNode *a = cl->children; a; a = a->next) {
		char *v, *pv;
		int r = 0;

		if (a->type != XML_ELEMENT_NODE)
			continue;
		if (!is(a, "arg", QEMU_NS)) {
			if (is(a, "env", QEMU_NS))
				continue;
			return err_at(buf, len, path, a, "<qemu:commandline><%s>: not an element cpregd understands",
				      (const char *)a->name);
		}
		v = prop(a, "value");
		pv = prev ? prop(prev, "value") : NULL;
		if (v && pv && strcmp(pv, "-global") == 0) {
			/* -global host-arm-cpu.PROP=VALUE sets the host CPU's property. */
			if (strncmp(v, "host-arm-cpu.", 13) == 0)
				r = cpu_prop(v + 13, vm, buf, len, path, a);
		} else if (v && pv && strcmp(pv, "-cpu") == 0) {
			char *copy = strdup(v), *save = NULL, *tok;

			if (!copy) {
				r = err_at(buf, len, path, a, "out of memory");
			} else if (strncmp(copy, "host", 4) != 0 || (copy[4] && copy[4] != ',')) {
				r = err_at(buf, len, path, a, "-cpu %s: cpregd judges -cpu host VMs only", v);
			} else {
				for (tok = strtok_r(copy + 4, ",", &save); tok && r == 0; tok = strtok_r(NULL, ",", &save))
					r = cpu_prop(tok, vm, buf, len, path, a);
			}
			free(copy);
		}
		xmlFree(v);
		xmlFree(pv);
		if (r)
			return r;
		prev = a;
	}
	return 0;
}

/* <qemu:override><qemu:device alias='...'><qemu:frontend><qemu:property name= type= value=/> */
static int qemu_override(const xmlNode *ov, struct cpreg_vm_options *vm, char *buf, size_t len, const char *path)
{
	for (const xmlNode *d = ov->children; d; d = d->next) {
		if (d->type != XML_ELEMENT_NODE)
			continue;
		for (const xmlNode *fe = d->children; fe; fe = fe->next) {
			if (!is(fe, "frontend", QEMU_NS))
				continue;
			for (const xmlNode *p = fe->children; p; p = p->next) {
				char *name, *value, kv[160];
				int r;

				if (!is(p, "property", QEMU_NS))
					continue;
				name = prop(p, "name");
				value = prop(p, "value");
				snprintf(kv, sizeof(kv), "%s=%s", name ? name : "", value ? value : "");
				xmlFree(name);
				xmlFree(value);
				r = cpu_prop(kv, vm, buf, len, path, p);
				if (r)
					return r;
			}
		}
	}
	return 0;
}

/* The options of a parsed domain; path labels errors. */
static int doc_vm_options(xmlDoc *doc, const char *path, struct cpreg_vm_options *ret, char *buf, size_t len)
{
	struct cpreg_vm_options vm = { 0 };
	const xmlNode *root, *cpu = NULL;
	int r = 0;

	root = xmlDocGetRootElement(doc);
	if (!root || !is(root, "domain", NULL))
		return err_at(buf, len, path, root, "the root element is not <domain>");
	for (const xmlNode *n = root->children; n && r == 0; n = n->next) {
		if (is(n, "cpu", NULL)) {
			cpu = n;
			r = cpu_element(n, &vm, buf, len, path);
		} else if (is(n, "features", NULL)) {
			for (const xmlNode *f = n->children; f; f = f->next)
				if (is(f, "pmu", NULL)) {
					char *state = prop(f, "state");

					if (state && strcmp(state, "off") == 0)
						vm.disable |= 1u << CPREG_FEAT_PMU_V3;
					else if (!state || strcmp(state, "on") != 0)
						r = err_at(buf, len, path, f, "<pmu state='%s'>: expected on or off", state ? state : "");
					xmlFree(state);
				}
		} else if (is(n, "commandline", QEMU_NS)) {
			r = qemu_commandline(n, &vm, buf, len, path);
		} else if (is(n, "override", QEMU_NS)) {
			r = qemu_override(n, &vm, buf, len, path);
		}
	}
	if (r == 0 && !cpu)
		r = err_at(buf, len, path, root, "<domain> has no <cpu mode='host-passthrough'>: cpregd judges "
			   "host-passthrough VMs only");
	if (r == 0)
		*ret = vm;
	return r;
}

static void not_well_formed(const char *path, char *buf, size_t len)
{
	const xmlError *e = xmlGetLastError();

	snprintf(buf, len, "%s:%d: not well-formed XML: %s", path, e ? e->line : 0,
		 e && e->message ? e->message : "cannot parse");
	buf[strcspn(buf, "\n")] = '\0';
}

int cpreg_domain_vm_options(const char *path, struct cpreg_vm_options *ret, char *buf, size_t len)
{
	xmlDoc *doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	int r;

	if (!doc) {
		not_well_formed(path, buf, len);
		return -1;
	}
	r = doc_vm_options(doc, path, ret, buf, len);
	xmlFreeDoc(doc);
	return r;
}

int cpreg_domain_vm_options_mem(const char *xml, size_t len, const char *name, struct cpreg_vm_options *ret, char *buf,
				size_t blen)
{
	xmlDoc *doc = xmlReadMemory(xml, (int)len, name, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	int r;

	if (len > CPREG_JSON_MAX || !doc) {
		not_well_formed(name, buf, blen);
		xmlFreeDoc(doc);
		return -1;
	}
	r = doc_vm_options(doc, name, ret, buf, blen);
	xmlFreeDoc(doc);
	return r;
}
/*
 * ---- the VM's passport in <metadata> (libvirt hook, issue 24) ----
 * libvirt keeps a domain's <metadata> elements of other namespaces with the
 * domain across migrations and restores: cpregd's passport travels there,
 * as the element passport of PASSPORT_NS holding the cpreg-passport/1 JSON
 * as text, its namespace declared on the element itself (as libvirt passes
 * metadata elements to hooks).
 */
static xmlDoc *read_domain(const char *xml, size_t len, const char *name, char *buf, size_t blen)
{
	xmlDoc *doc = len > CPREG_JSON_MAX ? NULL :
		xmlReadMemory(xml, (int)len, name, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	const xmlNode *root;

	if (!doc) {
		not_well_formed(name, buf, blen);
		return NULL;
	}
	root = xmlDocGetRootElement(doc);
	if (!root || !is(root, "domain", NULL)) {
		err_at(buf, blen, name, root, "the root element is not <domain>");
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

static xmlNode *metadata_of(xmlNode *root)
{
	for (xmlNode *n = root->children; n; n = n->next)
		if (is(n, "metadata", NULL))
			return n;
	return NULL;
}

int cpreg_domain_passport_get(const char *xml, size_t len, const char *name, char **ret, char *buf, size_t blen)
{
	xmlDoc *doc = read_domain(xml, len, name, buf, blen);
	xmlNode *md;
	int r = 0;

	*ret = NULL;
	if (!doc)
		return -1;
	md = metadata_of(xmlDocGetRootElement(doc));
	for (xmlNode *n = md ? md->children : NULL; n && !*ret; n = n->next)
		if (is(n, "passport", CPREG_PASSPORT_NS)) {
			xmlChar *t = xmlNodeGetContent(n);

			if (!t || !(*ret = strdup((const char *)t)))
				r = err_at(buf, blen, name, n, "<passport>: out of memory");
			xmlFree(t);
		}
	xmlFreeDoc(doc);
	return r;
}

int cpreg_domain_passport_set(const char *xml, size_t len, const char *name, const char *json, char **ret, char *buf,
			      size_t blen)
{
	xmlDoc *doc = read_domain(xml, len, name, buf, blen);
	xmlNode *root, *md, *p;
	xmlChar *out = NULL;
	int size = 0;

	*ret = NULL;
	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	md = metadata_of(root);
	if (!md)
		md = xmlNewChild(root, NULL, (const xmlChar *)"metadata", NULL);
	/* Only ours changes: the guest ABI, and other applications' metadata, stay as they were. */
	for (xmlNode *n = md ? md->children : NULL, *next; n; n = next) {
		next = n->next;
		if (is(n, "passport", CPREG_PASSPORT_NS)) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
	}
	p = md ? xmlNewChild(md, NULL, (const xmlChar *)"passport", NULL) : NULL;
	if (p) {
		xmlSetNs(p, xmlNewNs(p, (const xmlChar *)CPREG_PASSPORT_NS, (const xmlChar *)"cpregd"));
		xmlNodeAddContent(p, (const xmlChar *)json);
		xmlDocDumpMemory(doc, &out, &size);
	}
	xmlFreeDoc(doc);
	if (!out || !(*ret = strndup((const char *)out, (size_t)size))) {
		xmlFree(out);
		snprintf(buf, blen, "%s: out of memory", name);
		return -1;
	}
	xmlFree(out);
	return 0;
}
#else
int cpreg_domain_passport_get(const char *xml, size_t len, const char *name, char **ret, char *buf, size_t blen)
{
	(void)xml, (void)len, (void)ret;
	snprintf(buf, blen, "%s: this cpregctl was built without libxml2, so it cannot read domain XML", name);
	return -1;
}

int cpreg_domain_passport_set(const char *xml, size_t len, const char *name, const char *json, char **ret, char *buf,
			      size_t blen)
{
	(void)xml, (void)len, (void)json, (void)ret;
	snprintf(buf, blen, "%s: this cpregctl was built without libxml2, so it cannot write domain XML", name);
	return -1;
}

int cpreg_domain_vm_options(const char *path, struct cpreg_vm_options *ret, char *buf, size_t len)
{
	(void)ret;
	snprintf(buf, len, "%s: this cpregctl was built without libxml2, so it cannot read domain XML", path);
	return -1;
}

int cpreg_domain_vm_options_mem(const char *xml, size_t len, const char *name, struct cpreg_vm_options *ret, char *buf,
				size_t blen)
{
	(void)xml, (void)len, (void)ret;
	snprintf(buf, blen, "%s: this cpregctl was built without libxml2, so it cannot read domain XML", name);
	return -1;
}
#endif
