#!/usr/bin/env python3
"""Writes a WordPress export of N posts (about 600 words each in six sections, a captioned
image, two tags of 50, three comments with a reply) and an uploads folder of 200 distinct
PNG photos that the posts share, as a site's media library is shared.
Usage: import-wxr.py N OUT_DIR   (writes OUT_DIR/site.xml and OUT_DIR/uploads/)"""
import os
import random
import struct
import sys
import zlib

count, out = int(sys.argv[1]), sys.argv[2]
random.seed(7)
IMAGES = 200
WORDS = ("harbour tide crane ferry pier rope gull engine night shift weather quay cargo "
         "timetable council money river bridge market lamp dawn island boat sail").split()


def png(path, seed, width=640, height=480):
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        rows.extend(bytes(((x * 3 + seed * 37) % 256, (y * 2 + seed * 11) % 256, (seed * 53) % 256)
                          [i % 3] for x in range(width) for i in range(3)))
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


os.makedirs(f"{out}/uploads/2024/03", exist_ok=True)
for i in range(IMAGES):
    path = f"{out}/uploads/2024/03/photo-{i}.png"
    if not os.path.exists(path):
        png(path, i)

def words(n):
    return " ".join(random.choice(WORDS) for _ in range(n))

site = "https://harbour.example/wp-content/uploads/2024/03"
with open(f"{out}/site.xml", "w") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            'xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">\n<channel>\n'
            '<link>https://harbour.example</link>\n')
    for a in range(10):
        f.write(f"<wp:author><wp:author_login>writer{a}</wp:author_login>"
                f"<wp:author_email>writer{a}@harbour.example</wp:author_email>"
                f"<wp:author_display_name><![CDATA[Writer {a}]]></wp:author_display_name></wp:author>\n")
    for i in range(IMAGES):
        f.write(f"<item><title>photo {i}</title><wp:post_id>{1_000_000 + i}</wp:post_id>"
                f"<wp:post_type>attachment</wp:post_type><wp:status>inherit</wp:status>"
                f"<excerpt:encoded><![CDATA[Photo {i} of the harbour]]></excerpt:encoded>"
                f"<wp:attachment_url>{site}/photo-{i}.png</wp:attachment_url></item>\n")
    for p in range(count):
        image = random.randrange(IMAGES)
        sections = "".join(
            f"<!-- wp:heading --><h2>{words(4).title()}</h2><!-- /wp:heading -->\n"
            + "".join(f"<!-- wp:paragraph --><p>{words(50)}</p><!-- /wp:paragraph -->\n" for _ in range(2))
            for _ in range(6))
        figure = (f'<!-- wp:image {{"id":{1_000_000 + image}}} --><figure class="wp-block-image">'
                  f'<img src="{site}/photo-{image}-1024x768.png" class="wp-image-{1_000_000 + image}" alt="Photo {image}"/>'
                  f'<figcaption>Caption of post {p}</figcaption></figure><!-- /wp:image -->\n')
        tags = "".join(f'<category domain="post_tag" nicename="topic-{t}"><![CDATA[Topic {t}]]></category>'
                       for t in random.sample(range(50), 2))
        comments = "".join(
            f"<wp:comment><wp:comment_id>{c}</wp:comment_id><wp:comment_author>Reader {c}</wp:comment_author>"
            f"<wp:comment_author_email>r{c}@mail.example</wp:comment_author_email>"
            f"<wp:comment_date_gmt>2024-03-02 10:0{c}:00</wp:comment_date_gmt>"
            f"<wp:comment_content><![CDATA[{words(20)}]]></wp:comment_content>"
            f"<wp:comment_approved>1</wp:comment_approved><wp:comment_parent>{1 if c == 3 else 0}</wp:comment_parent>"
            f"</wp:comment>" for c in (1, 2, 3))
        f.write(f"<item><title><![CDATA[{words(6).capitalize()} {p}]]></title>"
                f"<dc:creator>writer{p % 10}</dc:creator><wp:post_id>{p + 1}</wp:post_id>"
                f"<wp:post_date_gmt>2024-0{1 + p % 9}-{1 + p % 28:02d} 08:00:00</wp:post_date_gmt>"
                f"<wp:post_name>post-{p}</wp:post_name><wp:status>publish</wp:status><wp:post_type>post</wp:post_type>"
                f"<wp:comment_status>open</wp:comment_status>"
                f"<content:encoded><![CDATA[{figure}{sections}]]></content:encoded>{tags}"
                f"<wp:postmeta><wp:meta_key>_thumbnail_id</wp:meta_key><wp:meta_value>{1_000_000 + image}</wp:meta_value></wp:postmeta>"
                f"{comments}</item>\n")
    f.write("</channel>\n</rss>\n")
