// Type-checked by tests/test_generated_clients.py with `tsc --strict --noEmit` against
// the types openapi-typescript generates from /api/openapi.json (written beside it as
// api.d.ts). It fails to compile when the document loses what a client relies on: a
// field that is always sent stops being `required` (it becomes `T | undefined`), a
// nullable user becomes "any object or the user", or the search union loses its `type`.
import type { components, paths } from "./api";

type Schemas = components["schemas"];
type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;
type Post = Json<paths["/api/posts/{post_id}"]["get"]["responses"][200]>;
type SearchPage = Json<paths["/api/search"]["get"]["responses"][200]>;

export function byline(post: Post): string {
  // Required and nullable: no `?.` on the post, a null check on the author.
  const author: Schemas["PublicUser"] | null = post.author;
  const when: string = post.created_at;
  const edited: string | null = post.edited_at;
  const counts: number = post.comment_count + post.score;
  const title: string = post.title;
  return `${title} by ${author === null ? "[deleted]" : author.username} at ${when}` +
    `${edited === null ? "" : " (edited)"} ${counts} ${post.topic_id}`;
}

export function commentAuthor(comment: Schemas["Comment"]): string | null {
  const replies: Schemas["Comment"][] = comment.replies;
  return comment.author === null ? null : comment.author.id + replies.length;
}

export function messageLine(message: Schemas["Message"]): string {
  const seq: number = message.seq;
  return `${seq} ${message.author === null ? "?" : message.author.username}: ${message.body}`;
}

export function topicOwner(topic: Schemas["Topic"]): string | null {
  return topic.owner === null ? null : topic.owner.username;
}

export function searchLabels(page: SearchPage): string[] {
  const next: string | null = page.next_cursor;
  const labels = page.items.map((item): string => {
    switch (item.type) {
      case "post":
        return byline(item);
      case "topic":
        return `${item.slug}: ${item.title} (${item.member_count})`;
      case "user":
        return item.username;
      default: {
        const unknown: never = item;
        return unknown;
      }
    }
  });
  return next === null ? labels : [...labels, "more"];
}

type Login = paths["/api/auth/login"]["post"];
export type LoginBody = Login["requestBody"] extends { content: { "application/json": infer B } }
  ? B : never;
export function csrfOf(answer: Json<Login["responses"][200]>): string {
  return answer.csrf_token + answer.user.email;
}
