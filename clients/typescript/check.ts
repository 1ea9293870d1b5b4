// What a front-end does with the generated client; `tsc` fails if the document stops
// describing it (a renamed field, a lost parameter, an error without the Problem schema).
import createClient from "openapi-fetch";
import type { components, paths, webhooks } from "./generated/lede";

type Author = components["schemas"]["AuthorResponse"];
type Problem = components["schemas"]["Problem"];
type TagPage = components["schemas"]["ListResponse_TagResponse"];

const api = createClient<paths>({ baseUrl: "http://127.0.0.1:8080" });

export async function byline(slug: string): Promise<string> {
  const { data, error } = await api.GET("/api/v1/authors/{id_or_slug}", {
    params: { path: { id_or_slug: slug } },
  });
  if (error) {
    const problem: Problem = error;
    return `${problem.status} ${problem.title}: ${problem.detail} (${problem.request_id})`;
  }
  const author: Author = data;
  return `${author.name} (${author.article_count} articles)${author.email ? ` <${author.email}>` : ""}`;
}

export async function allTagNames(): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined = undefined;
  do {
    const query = { per_page: 100, cursor, sort: "name" };
    const result = await api.GET("/api/v1/tags", { params: { query } });
    if (result.error) throw new Error(result.error.detail);
    const page: TagPage = result.data;
    // List items are partial (`fields` may trim them), so a client says what it needs.
    names.push(...page.data.map((t): string => t.name));
    cursor = page.meta.next_cursor ?? undefined;
  } while (cursor);
  return names;
}

export async function createAuthor(token: string, name: string): Promise<string | undefined> {
  const { data, error } = await api.POST("/api/v1/authors", {
    headers: { Authorization: `Bearer ${token}`, "Idempotency-Key": crypto.randomUUID() },
    body: { name, bio: "Writes about cities." },
  });
  if (error) {
    return error.errors.map((e) => `${e.field ?? "body"}: ${e.message}`).join("; ");
  }
  return data.slug;
}

export async function renameTag(token: string, slug: string, etag: string) {
  return api.PATCH("/api/v1/tags/{id_or_slug}", {
    params: { path: { id_or_slug: slug }, header: { "If-Match": etag } },
    headers: { Authorization: `Bearer ${token}` },
    body: { name: "Renamed", description: null },
  });
}

export async function newToken(adminToken: string): Promise<string | undefined> {
  const { data } = await api.POST("/api/v1/tokens", {
    headers: { Authorization: `Bearer ${adminToken}` },
    body: { name: "script", role: "editor" },
  });
  return data?.secret ?? undefined;
}

type Image = components["schemas"]["ImageResponse"];

/** The `srcset` a front-end writes for an image: every variant and the original, by width. */
export function srcset(image: Image): string {
  return [...image.variants.map((v) => `${v.url} ${v.width}w`), `${image.url} ${image.width}w`].join(", ");
}

export async function bylineAvatar(slug: string): Promise<string | null> {
  const { data } = await api.GET("/api/v1/authors/{id_or_slug}", {
    params: { path: { id_or_slug: slug } },
  });
  const avatar = data?.avatar;
  return avatar ? `<img src="${avatar.url}" srcset="${srcset(avatar)}" alt="${avatar.alt ?? ""}">` : null;
}

export async function recentJpegs(): Promise<components["schemas"]["ImageResponse"][]> {
  const { data } = await api.GET("/api/v1/images", {
    params: { query: { mime_type: "image/jpeg", sort: "-created_at", per_page: 10 } },
  });
  return data?.data ?? [];
}

type Article = components["schemas"]["ArticleResponse"];

/** A whole article page: the single GET has every field. */
export async function page(slug: string): Promise<Article | undefined> {
  const { data } = await api.GET("/api/v1/articles/{id_or_slug}", { params: { path: { id_or_slug: slug } } });
  return data;
}

/** A front page: the newest published articles with a tag, as cards (no bodies). Every
 * field a plain list returns is typed as present: `title` is a `string`. */
export async function frontPage(tag: string): Promise<string[]> {
  const { data, error } = await api.GET("/api/v1/articles", {
    params: { query: { tag: [tag], per_page: 10 } },
  });
  if (error) throw new Error(error.detail);
  return data.data.map((a: components["schemas"]["ArticleCard"]): string => {
    const title: string = a.title;
    const byline: string = a.author.name;
    return `${title} by ${byline} (${a.cover_image?.variants.length ?? 0} sizes, ${a.toc.length} sections)`;
  });
}

/** Bylines of every author on a page: `name` is a `string`, not `string | undefined`. */
export async function authorNames(): Promise<string[]> {
  const { data } = await api.GET("/api/v1/authors", { params: { query: { per_page: 100 } } });
  return (data?.data ?? []).map((a): string => a.name);
}

/** A long-read archive asks for the bodies too. */
export async function archive(): Promise<string[]> {
  const { data } = await api.GET("/api/v1/articles", { params: { query: { include: "body" } } });
  return (data?.data ?? []).map((a) => a.body_html ?? "");
}

/** Search results with highlighted snippets. */
export async function search(q: string): Promise<string[]> {
  const { data } = await api.GET("/api/v1/articles", { params: { query: { q, sort: "relevance" } } });
  return (data?.data ?? []).map((a) => a.snippet ?? a.excerpt ?? "");
}

/** Publish a draft, guarded by its ETag. */
export async function publish(token: string, slug: string, etag: string): Promise<number | undefined> {
  const { data, error } = await api.PATCH("/api/v1/articles/{id_or_slug}", {
    params: { path: { id_or_slug: slug }, header: { "If-Match": etag } },
    headers: { Authorization: `Bearer ${token}` },
    body: { status: "published", tags: ["cities"] },
  });
  if (error) return error.status;
  return data.version;
}

export async function history(token: string, slug: string): Promise<number[]> {
  const { data } = await api.GET("/api/v1/articles/{id_or_slug}/revisions", {
    params: { path: { id_or_slug: slug } },
    headers: { Authorization: `Bearer ${token}` },
  });
  // A paged list like every other: who saved which version, newest first.
  return (data?.data ?? []).map((r) => r.version);
}

type Thread = components["schemas"]["PublicComment"];

/** Renders a thread the way a "Leave a reply" page does: nested replies, tombstones kept. */
export function renderThread(comment: Thread, depth = 0): string {
  const own = comment.deleted ? "[deleted]" : `${comment.author_name}: ${comment.body_html}`;
  return [`${"  ".repeat(depth)}${own}`, ...comment.replies.map((r) => renderThread(r, depth + 1))].join("\n");
}

export async function leaveReply(slug: string, parent?: string): Promise<string> {
  const { data, error } = await api.POST("/api/v1/articles/{id_or_slug}/comments", {
    params: { path: { id_or_slug: slug } },
    body: { author_name: "Marta", author_email: "marta@example.com", body: "Thank you!", parent_id: parent ?? null },
  });
  if (error) return error.status === 429 ? "slow down" : error.detail;
  return data.status ?? "received";
}

export async function approveAll(token: string): Promise<number> {
  const { data: queue } = await api.GET("/api/v1/comments", {
    params: { query: { status: "pending", per_page: 100 } },
    headers: { Authorization: `Bearer ${token}` },
  });
  const ids = (queue?.data ?? []).flatMap((c) => (c.id ? [c.id] : []));
  if (ids.length === 0) return 0;
  const { data } = await api.POST("/api/v1/comments/bulk-status", {
    headers: { Authorization: `Bearer ${token}` },
    body: { ids, status: "approved" },
  });
  return data?.updated ?? 0;
}

/** A deploy script subscribing a Next.js revalidation route; the secret is shown once. */
export async function subscribeRevalidation(adminToken: string): Promise<string | undefined> {
  const { data } = await api.POST("/api/v1/webhooks", {
    headers: { Authorization: `Bearer ${adminToken}` },
    body: {
      url: "https://www.example.com/api/revalidate",
      events: ["article.published", "article.updated", "article.deleted"],
      description: "Next.js on-demand revalidation",
    },
  });
  return data?.secret;
}

/** The failed attempts of an endpoint's log, with when each is tried again. */
export async function failedAttempts(adminToken: string, id: string): Promise<string[]> {
  const { data } = await api.GET("/api/v1/webhooks/{id}/deliveries", {
    params: { path: { id }, query: { per_page: 100 } },
    headers: { Authorization: `Bearer ${adminToken}` },
  });
  return (data?.data ?? [])
    .filter((a) => a.error !== null)
    .map((a) => `${a.event_type} #${a.attempt}: ${a.error} (again at ${a.next_attempt_at ?? "never"})`);
}

/** An editor's script: twenty markdown files upserted in one all-or-nothing request. */
export async function publishFiles(
  token: string,
  files: { path: string; title: string; markdown: string }[],
): Promise<number[]> {
  const { data, error } = await api.POST("/api/v1/batch", {
    headers: { Authorization: `Bearer ${token}`, "Idempotency-Key": "files-2026-11-26" },
    body: {
      operations: files.map((file) => ({
        method: "PUT" as const,
        path: `/api/v1/articles/by-external-id/${encodeURIComponent(file.path)}`,
        body: { title: file.title, author: "ada-okafor", status: "published", body_markdown: file.markdown },
      })),
    },
  });
  if (error) throw new Error(`${error.detail}: ${error.errors.map((e) => e.field).join(", ")}`);
  return data.results.map((result) => result.status);
}

/** A page's `<head>` and its "read next" links, as a Next.js page builds them. */
export async function head(slug: string): Promise<{ title: string; canonical: string; ldJson: string; next?: string }> {
  const { data, error } = await api.GET("/api/v1/articles/{id_or_slug}", {
    params: { path: { id_or_slug: slug }, query: { adjacent_tag: "cities" } },
  });
  if (error) throw new Error(error.detail);
  const image: string | undefined = data.seo.og_image?.url;
  return {
    title: `${data.seo.title}${image ? "" : " (no image)"}`,
    canonical: data.seo.canonical_url,
    ldJson: JSON.stringify(data.seo.json_ld).replace(/</g, "\\u003c"),
    next: data.next?.canonical_url,
  };
}

/** A Next.js draft-mode route: the editor's link carries a preview token, no API token. */
export async function draft(token: string): Promise<string> {
  const { data, error } = await api.GET("/api/v1/preview/{token}", { params: { path: { token } } });
  if (error) throw new Error(error.detail);
  return `${data.title} (${data.status})`;
}

/** An editor shares a draft for a day. */
export async function shareDraft(apiToken: string, id: string): Promise<string> {
  const { data, error } = await api.POST("/api/v1/articles/{id_or_slug}/preview-links", {
    params: { path: { id_or_slug: id } },
    headers: { Authorization: `Bearer ${apiToken}` },
    body: { expires_in_seconds: 86400 },
  });
  if (error) throw new Error(error.detail);
  return `${data.url} until ${data.expires_at}`;
}

/** sitemap.xml: every public article, a thousand a page, by cursor. */
export async function sitemap(): Promise<string[]> {
  const locs: string[] = [];
  let cursor: string | undefined;
  do {
    const { data, error } = await api.GET("/api/v1/sitemap", { params: { query: { cursor } } });
    if (error) throw new Error(error.detail);
    locs.push(...data.data.map((e) => `<url><loc>${e.canonical_url}</loc><lastmod>${e.updated_at}</lastmod></url>`));
    cursor = data.meta.next_cursor ?? undefined;
  } while (cursor);
  return locs;
}

/** "More like this" cards under an article. */
export async function related(slug: string): Promise<string[]> {
  const { data } = await api.GET("/api/v1/articles/{id_or_slug}/related", {
    params: { path: { id_or_slug: slug }, query: { limit: 4 } },
  });
  return (data?.data ?? []).map((a) => `${a.title}: ${a.seo.canonical_url}`);
}

type ArticleLink = components["schemas"]["ArticleLink"];
/** `true` only when `T` is exactly `U` (`never`, what an untyped object's fields are, is not). */
type Exactly<T, U> = [T] extends [U] ? ([U] extends [T] ? true : false) : false;
type JsonLd = Article["seo"]["json_ld"];
export const jsonLdIsTyped: [Exactly<JsonLd["headline"], string>, Exactly<JsonLd["author"][number]["name"], string>] = [true, true];

/** What a page's head and its "previous / next" links need: one GET always has both links
 * (`null` at either end), and the JSON-LD's fields are typed. */
export function pageHead(article: Article): { headline: string; published?: string; prev: ArticleLink | null; next: ArticleLink | null } {
  const ld = article.seo.json_ld;
  // @ts-expect-error a snippet is a search result's, never one article's
  void article.snippet;
  return { headline: ld.headline, published: ld.datePublished, prev: article.previous, next: article.next };
}

/** A search result's snippet is the card's. */
export function snippetOf(card: components["schemas"]["ArticleCard"]): string | undefined {
  // @ts-expect-error a card has no previous / next links
  void card.previous;
  return card.snippet;
}

/** A 304 has no body: nothing to type as success. */
type NotModified = paths["/api/v1/articles/{id_or_slug}"]["get"]["responses"][304]["content"];
export const notModified: NotModified | undefined = undefined;

/** Uploads a picture. openapi-typescript types a `format: binary` field as `string`: pass the
 * Blob as one, and send the body as `FormData` (the README's two-line workaround). */
export async function upload(token: string, file: Blob, alt: string): Promise<string | undefined> {
  const { data } = await api.POST("/api/v1/images", {
    headers: { Authorization: `Bearer ${token}` },
    body: { file: file as unknown as string, alt },
    bodySerializer: (body) => Object.entries(body).reduce((form, [k, v]) => (form.append(k, v as Blob | string), form), new FormData()),
  });
  return data?.id;
}

type ArticleUpdated = webhooks["article.updated"]["post"]["requestBody"]["content"]["application/json"];

/** A revalidation route's receiver, typed by the document's `webhooks`: both paths of a
 * renamed article. */
export function pathsToRevalidate(event: ArticleUpdated): string[] {
  const type: "article.updated" = event.type;
  const paths = [`/${event.data.slug}`, "/"];
  const previous: string | undefined = event.changes?.previous_slug;
  const fields: string[] = event.changes?.fields ?? [];
  if (previous && fields.includes("slug")) paths.push(`/${previous}`);
  return type ? paths : [];
}
