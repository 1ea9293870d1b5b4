//! Images are uploaded as real encoded files made here with the `image` crate.
use std::io::Cursor;

use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use serde_json::{Value, json};

use crate::support::{Options, TestApp};

fn pattern(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(width, height, |x, y| {
        Rgb([
            (x * 7 % 256) as u8,
            (y * 3 % 256) as u8,
            ((x + y) % 256) as u8,
        ])
    }))
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&pattern(width, height).to_rgb8())
        .unwrap();
    out
}

fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        ImageFormat::WebP => WebPEncoder::new_lossless(&mut out)
            .encode(
                image.to_rgba8().as_raw(),
                image.width(),
                image.height(),
                image::ExtendedColorType::Rgba8,
            )
            .unwrap(),
        ImageFormat::Gif => {
            GifEncoder::new(&mut out)
                .encode_frame(image::Frame::new(image.to_rgba8()))
                .unwrap();
        }
        _ => image.write_to(&mut Cursor::new(&mut out), format).unwrap(),
    }
    out
}

const SECRET: &str = "GPS 48.85837N 2.29448E home";

/// A JPEG whose EXIF says "rotate 90° clockwise" and carries a secret, plus the secret in
/// a comment segment: what a phone camera uploads.
fn jpeg_with_exif(width: u32, height: u32) -> Vec<u8> {
    let plain = jpeg(width, height);
    let text = format!("{SECRET}\0");
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II\x2a\x00\x08\x00\x00\x00");
    tiff.extend_from_slice(&2u16.to_le_bytes());
    // Orientation (0x0112), SHORT, 1, value 6.
    tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    // ImageDescription (0x010e), ASCII, n, at offset 38.
    tiff.extend_from_slice(&[0x0e, 0x01, 2, 0]);
    tiff.extend_from_slice(&(text.len() as u32).to_le_bytes());
    tiff.extend_from_slice(&38u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(text.as_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    let comment = SECRET.as_bytes();
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&((comment.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(comment);
    out.extend_from_slice(&plain[2..]);
    out
}

/// A PNG whose header claims `width` x `height` with no real pixel data behind it.
fn png_bomb_header(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for chunk in [
        ihdr,
        [b"IDAT".as_slice(), &[0u8; 32]].concat(),
        b"IEND".to_vec(),
    ] {
        out.extend_from_slice(&((chunk.len() - 4) as u32).to_be_bytes());
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    out
}

/// Decodes served bytes: AVIF with rav1d (dav1d in Rust) from the container's primary item,
/// as its luma plane; the rest with the `image` crate.
fn decode(bytes: &[u8]) -> DynamicImage {
    if bytes.get(4..12) == Some(b"ftypavif") {
        return decode_avif(bytes);
    }
    image::load_from_memory(bytes).expect("served bytes decode")
}

fn decode_avif(bytes: &[u8]) -> DynamicImage {
    use re_rav1d::dav1d::{Decoder, Error, PlanarImageComponent};
    let avif = avif_parse::read_avif(&mut Cursor::new(bytes)).expect("an AVIF container");
    let mut decoder = Decoder::new().unwrap();
    decoder
        .send_data(avif.primary_item.to_vec(), None, None, None)
        .expect("AV1 data");
    let mut picture = None;
    for _ in 0..100 {
        match decoder.get_picture() {
            Ok(decoded) => {
                picture = Some(decoded);
                break;
            }
            Err(Error::Again) => decoder.send_pending_data().expect("AV1 data"),
            Err(error) => panic!("the AV1 image does not decode: {error}"),
        }
    }
    let picture = picture.expect("a picture from the AV1 data");
    let stride = picture.stride(PlanarImageComponent::Y) as usize;
    let luma = picture.plane(PlanarImageComponent::Y);
    DynamicImage::ImageLuma8(ImageBuffer::from_fn(
        picture.width(),
        picture.height(),
        |x, y| image::Luma([luma[y as usize * stride + x as usize]]),
    ))
}

fn stored_files(app: &TestApp) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| {
                        if e.path().is_dir() {
                            count(&e.path())
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    count(&app.media_dir)
}

#[tokio::test]
async fn every_supported_type_is_stored_with_real_variants() {
    let app = TestApp::spawn().await;
    let wide = pattern(1700, 900);
    let cases = [
        ("photo.jpg", jpeg(1700, 900), "image/jpeg", "image/jpeg"),
        (
            "chart.png",
            encoded(&wide, ImageFormat::Png),
            "image/png",
            "image/png",
        ),
        (
            "anim.gif",
            encoded(&wide, ImageFormat::Gif),
            "image/gif",
            "image/png",
        ),
        (
            "shot.webp",
            encoded(&wide, ImageFormat::WebP),
            "image/webp",
            "image/png",
        ),
    ];
    let names = [
        "w320", "w640", "w1024", "w1600", "w1700", "square", "social",
    ];
    for (name, bytes, mime, variant_mime) in cases {
        let reply = app
            .upload(
                Some(&app.author),
                bytes,
                name,
                "application/octet-stream",
                &[("alt", "A test pattern")],
            )
            .await;
        let image = reply.expect(201);
        assert_eq!(image["mime_type"], mime, "{name}");
        assert_eq!(
            (image["width"].as_u64(), image["height"].as_u64()),
            (Some(1700), Some(900)),
            "{name}"
        );
        assert_eq!(image["alt"], "A test pattern");
        assert!(
            reply
                .header("location")
                .unwrap()
                .ends_with(image["id"].as_str().unwrap())
        );

        let original = app.fetch(image["url"].as_str().unwrap(), &[]).await;
        assert_eq!(original.status, 200, "{name}");
        assert_eq!(original.header("content-type"), Some(mime));
        assert_eq!(
            original.body.len() as u64,
            image["byte_size"].as_u64().unwrap()
        );
        let decoded = decode(&original.body);
        assert_eq!((decoded.width(), decoded.height()), (1700, 900));

        // Answered with the original's format: its widths (the original's own among them,
        // as the original's URL), then the crops around the (default, middle) focal point.
        let variants = image["variants"].as_array().unwrap();
        let widths: Vec<u64> = variants
            .iter()
            .map(|v| v["width"].as_u64().unwrap())
            .collect();
        let shapes: Vec<(&str, u64)> = variants[5..]
            .iter()
            .map(|v| (v["name"].as_str().unwrap(), v["height"].as_u64().unwrap()))
            .collect();
        assert_eq!(shapes, [("square", 400), ("social", 630)], "{name}");
        assert_eq!(widths, [320, 640, 1024, 1600, 1700, 400, 1200], "{name}");
        assert_eq!(variants[4]["url"], image["url"], "{name}");

        // Then the job adds AVIF and WebP of each (a WebP upload's own WebP width is the
        // rendition, not the original, so it is not offered twice).
        let mut expected: Vec<(&str, &str)> = names
            .iter()
            .filter(|n| !(**n == "w1700" && mime == "image/webp"))
            .map(|n| (*n, if *n == "w1700" { mime } else { variant_mime }))
            .collect();
        for modern in ["image/avif", "image/webp"] {
            expected.extend(names.iter().map(|n| (*n, modern)));
        }
        let now = app.wait_for_renditions(image["id"].as_str().unwrap()).await;
        let variants = now["variants"].as_array().unwrap();
        let got: Vec<(&str, &str)> = variants
            .iter()
            .map(|v| {
                (
                    v["name"].as_str().unwrap(),
                    v["mime_type"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, expected, "{name}");
        for variant in variants {
            let served = app.fetch(variant["url"].as_str().unwrap(), &[]).await;
            assert_eq!(served.status, 200);
            assert_eq!(
                served.header("content-type"),
                variant["mime_type"].as_str(),
                "{name} {}",
                variant["name"]
            );
            let decoded = decode(&served.body);
            assert_eq!(
                (u64::from(decoded.width()), u64::from(decoded.height())),
                (
                    variant["width"].as_u64().unwrap(),
                    variant["height"].as_u64().unwrap()
                ),
                "{name} {} {}",
                variant["name"],
                variant["mime_type"]
            );
        }
    }
    let list = app
        .get("/api/v1/images?mime_type=image/png", None)
        .await
        .expect(200);
    assert_eq!(list["meta"]["total"], 1);
    assert_eq!(
        app.get("/api/v1/images", None).await.expect(200)["meta"]["total"],
        4
    );
}

/// Every rendition of odd shapes and of transparent images decodes to its stated size.
#[tokio::test]
async fn odd_shapes_and_transparency_get_every_rendition() {
    let app = TestApp::spawn().await;
    let clear = DynamicImage::ImageRgba8(ImageBuffer::from_fn(700, 500, |x, y| {
        image::Rgba([200, (y % 256) as u8, 40, (x % 256) as u8])
    }));
    let cases = [
        ("dot.png", encoded(&pattern(1, 1), ImageFormat::Png)),
        ("thread.png", encoded(&pattern(1, 900), ImageFormat::Png)),
        ("ribbon.png", encoded(&pattern(2000, 3), ImageFormat::Png)),
        ("clear.png", encoded(&clear, ImageFormat::Png)),
    ];
    for (name, bytes) in cases {
        let image = app
            .upload(Some(&app.editor), bytes, name, "image/png", &[])
            .await
            .expect(201);
        let now = app.wait_for_renditions(image["id"].as_str().unwrap()).await;
        for variant in now["variants"].as_array().unwrap() {
            let served = app.fetch(variant["url"].as_str().unwrap(), &[]).await;
            assert_eq!(served.status, 200, "{name} {variant}");
            let decoded = decode(&served.body);
            assert_eq!(
                (u64::from(decoded.width()), u64::from(decoded.height())),
                (
                    variant["width"].as_u64().unwrap(),
                    variant["height"].as_u64().unwrap()
                ),
                "{name} {variant}"
            );
        }
        // Transparency survives in WebP (AVIF keeps it as an alpha item).
        if name == "clear.png" {
            let webp = now["variants"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["mime_type"] == "image/webp" && v["name"] == "w320")
                .unwrap();
            let served = app.fetch(webp["url"].as_str().unwrap(), &[]).await;
            assert!(decode(&served.body).color().has_alpha(), "{name}");
            let avif = now["variants"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["mime_type"] == "image/avif" && v["name"] == "w320")
                .unwrap();
            let served = app.fetch(avif["url"].as_str().unwrap(), &[]).await;
            let parsed = avif_parse::read_avif(&mut Cursor::new(&served.body)).unwrap();
            assert!(parsed.alpha_item.is_some(), "{name}: no alpha in the AVIF");
        }
    }
}

#[tokio::test]
async fn small_images_get_no_wider_variants() {
    let app = TestApp::spawn().await;
    let image = app
        .upload(
            Some(&app.editor),
            jpeg(500, 300),
            "a.jpg",
            "image/jpeg",
            &[],
        )
        .await
        .expect(201);
    let widths: Vec<u64> = image["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["width"].as_u64().unwrap())
        .collect();
    // One width and the original's; the crops are as large as the picture allows (never
    // enlarged).
    assert_eq!(widths, [320, 500, 300, 500]);
    assert_eq!(image["variants"][1]["url"], image["url"]);
    assert_eq!(image["variants"][2]["height"], 300);
    assert_eq!(image["variants"][3]["height"], 263);
}

#[tokio::test]
async fn crops_are_cut_around_the_focal_point() {
    let app = TestApp::spawn().await;
    // Grey, with a green block at the right edge's middle; `shade` makes the bytes differ.
    let marked = |shade: u8| {
        DynamicImage::ImageRgb8(ImageBuffer::from_fn(2000, 800, move |x, y| {
            if x >= 1800 && (300..500).contains(&y) {
                Rgb([0, 255, 0])
            } else {
                Rgb([128, 128, shade])
            }
        }))
    };
    let green = |image: &DynamicImage| {
        image
            .to_rgb8()
            .pixels()
            .filter(|p| p[1] > 200 && p[0] < 60)
            .count()
    };
    for (shade, focal_x, expect_green) in [(128, "0.95", true), (129, "0.2", false)] {
        let image = app
            .upload(
                Some(&app.editor),
                encoded(&marked(shade), ImageFormat::Png),
                &format!("marked-{focal_x}.png"),
                "image/png",
                &[("focal_x", focal_x), ("focal_y", "0.5"), ("alt", focal_x)],
            )
            .await
            .expect(201);
        for crop in ["square", "social"] {
            let variant = image["variants"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == crop)
                .unwrap();
            let served = app.fetch(variant["url"].as_str().unwrap(), &[]).await;
            let decoded = decode(&served.body);
            assert_eq!(
                (u64::from(decoded.width()), u64::from(decoded.height())),
                (
                    variant["width"].as_u64().unwrap(),
                    variant["height"].as_u64().unwrap()
                )
            );
            assert_eq!(green(&decoded) > 0, expect_green, "{crop} at {focal_x}");
        }
        // A figure's srcset offers widths only, never a crop of another shape.
        let id = image["id"].as_str().unwrap();
        let article = app
            .post(
                "/api/v1/articles",
                Some(&app.editor),
                &json!({"title": format!("Marked {focal_x}"), "author": "test-author",
                    "body_markdown": format!("![x](image:{id})")}),
            )
            .await
            .expect(201);
        let html = article["body_html"].as_str().unwrap();
        assert!(
            !html.contains("/square") && !html.contains("/social"),
            "{html}"
        );
    }

    // Moving the focal point cuts the crops again, as new files; the old ones go.
    let list = app.get("/api/v1/images", None).await.expect(200);
    let image = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["alt"] == "0.95")
        .unwrap()
        .clone();
    let crop_url = |image: &Value, name: &str| {
        image["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap()["url"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let before = crop_url(&image, "square");
    let had = app.fetch(&before, &[]).await;
    assert!(green(&decode(&had.body)) > 0);
    let id = image["id"].as_str().unwrap();
    let moved = app
        .patch(
            &format!("/api/v1/images/{id}"),
            Some(&app.editor),
            &json!({"focal_x": 0.1}),
        )
        .await
        .expect(200);
    let after = crop_url(&moved, "square");
    assert_ne!(before, after);
    let served = app.fetch(&after, &[]).await;
    assert_eq!(
        green(&decode(&served.body)),
        0,
        "the square left the green block"
    );
    assert_eq!(app.fetch(&before, &[]).await.status, 404);
}

/// A focal point's move commits with a renditions job: when the re-cut that follows it
/// fails (the budget busy, a node gone), the job cuts the crops around the new point.
#[tokio::test]
async fn a_focal_move_whose_recut_failed_is_repaired_by_its_job() {
    let app = TestApp::spawn().await;
    let image = app
        .upload(
            Some(&app.editor),
            jpeg(1000, 600),
            "move.jpg",
            "image/jpeg",
            &[],
        )
        .await
        .expect(201);
    let id = image["id"].as_str().unwrap();
    let square = |image: &Value, mime: &str| -> String {
        image["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "square" && v["mime_type"] == mime)
            .map(|v| v["url"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let before = square(&image, "image/jpeg");
    // What the PATCH's transaction commits, with no re-cut after it.
    app.exec(&format!(
        "UPDATE images SET focal_x = 0.9 WHERE id = '{id}'; \
         INSERT INTO jobs (kind, payload, run_at) \
         VALUES ('renditions', jsonb_build_object('image_id', '{id}'::text), now())"
    ))
    .await;
    let tag = format!("-{:08x}", 0.9f32.to_bits());
    let mut now = Value::Null;
    for _ in 0..600 {
        now = app
            .get(&format!("/api/v1/images/{id}"), None)
            .await
            .expect(200);
        if ["image/jpeg", "image/avif", "image/webp"]
            .iter()
            .all(|mime| square(&now, mime).contains(&tag))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for mime in ["image/jpeg", "image/avif", "image/webp"] {
        let url = square(&now, mime);
        assert!(url.contains(&tag), "{mime} square not cut again: {now}");
        assert_eq!(app.fetch(&url, &[]).await.status, 200, "{url}");
    }
    // The crop of the old point is gone; nothing else changed.
    assert_eq!(app.fetch(&before, &[]).await.status, 404);
    assert_eq!(now["focal_x"].as_f64().map(|x| x as f32), Some(0.9));
}

/// Images stored before crops and placeholders existed get them from `lede images reprocess`.
#[tokio::test]
async fn reprocess_gives_older_images_what_uploads_get_now() {
    let app = TestApp::spawn().await;
    let image = app
        .upload(
            Some(&app.editor),
            jpeg(900, 600),
            "old.jpg",
            "image/jpeg",
            &[],
        )
        .await
        .expect(201);
    let id = image["id"].as_str().unwrap();
    // As a previous version stored it: widths only, no placeholder.
    app.exec(&format!(
        "UPDATE images SET placeholder = NULL, dominant_color = NULL, \
         variants = (SELECT jsonb_agg(v) FROM jsonb_array_elements(variants) v \
                     WHERE v->>'name' LIKE 'w%' AND v->>'mime_type' = 'image/jpeg') \
         WHERE id = '{id}'"
    ))
    .await;
    let reprocess = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_lede"))
            .args(["images", "reprocess"])
            .env("DATABASE_URL", &app.database_url)
            .env("LEDE_DATA_DIR", &app.data_dir)
            .env(
                "LEDE_STORAGE_URL",
                format!("file://{}", app.media_dir.display()),
            )
            .env("LEDE_LOG", "warn")
            .output()
            .unwrap()
    };
    let run = reprocess();
    let said = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(
        run.status.success() && said.contains("1 image(s) processed again, 0 failed"),
        "{said}"
    );
    let now = app
        .get(&format!("/api/v1/images/{id}"), None)
        .await
        .expect(200);
    assert_eq!(now["placeholder"], image["placeholder"], "{now}");
    let of = |mime: &str| -> Vec<Value> {
        now["variants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["mime_type"] == mime)
            .cloned()
            .collect()
    };
    assert_eq!(json!(of("image/jpeg")), image["variants"]);
    for modern in ["image/avif", "image/webp"] {
        let names: Vec<String> = of(modern)
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["w320", "w640", "w900", "square", "social"], "{now}");
    }
    // Nothing is left to do: a second run does nothing.
    let again = reprocess();
    assert!(String::from_utf8_lossy(&again.stderr).contains("0 image(s) processed again"));
}

#[tokio::test]
async fn orientation_is_applied_and_metadata_stripped() {
    let app = TestApp::spawn().await;
    let upload = jpeg_with_exif(400, 200);
    assert!(upload.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
    let image = app
        .upload(Some(&app.editor), upload, "phone.jpg", "image/jpeg", &[])
        .await
        .expect(201);
    // Rotated a quarter turn: portrait now.
    assert_eq!(
        (image["width"].as_u64(), image["height"].as_u64()),
        (Some(200), Some(400))
    );
    let mut urls = vec![image["url"].as_str().unwrap().to_owned()];
    urls.extend(
        image["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["url"].as_str().unwrap().to_owned()),
    );
    for url in urls {
        let served = app.fetch(&url, &[]).await;
        assert!(
            !served
                .body
                .windows(SECRET.len())
                .any(|w| w == SECRET.as_bytes()),
            "{url} still holds the metadata"
        );
        assert!(
            !served.body.windows(6).any(|w| w == b"Exif\0\0"),
            "{url} still has EXIF"
        );
    }
    // Without an orientation to apply, the original keeps its pixels (no re-encoding) but
    // loses its metadata all the same.
    let plain = jpeg(300, 200);
    let mut with_comment = vec![0xFF, 0xD8, 0xFF, 0xFE, 0, (SECRET.len() + 2) as u8];
    with_comment.extend_from_slice(SECRET.as_bytes());
    with_comment.extend_from_slice(&plain[2..]);
    let image = app
        .upload(Some(&app.editor), with_comment, "c.jpg", "image/jpeg", &[])
        .await
        .expect(201);
    let served = app.fetch(image["url"].as_str().unwrap(), &[]).await;
    assert_eq!(served.body, plain, "same bytes minus the comment");
}

#[tokio::test]
async fn the_type_is_judged_from_the_bytes() {
    let app = TestApp::spawn().await;
    let text = app
        .upload(
            Some(&app.editor),
            b"just some text, honest".to_vec(),
            "x.png",
            "image/png",
            &[],
        )
        .await
        .problem(415);
    assert!(
        text["detail"].as_str().unwrap().contains("plain text"),
        "{text}"
    );
    let html = app
        .upload(
            Some(&app.editor),
            b"<svg onload=alert(1)></svg>".to_vec(),
            "x.jpg",
            "image/jpeg",
            &[],
        )
        .await
        .problem(415);
    assert!(
        html["detail"].as_str().unwrap().contains("HTML or XML"),
        "{html}"
    );
    // A PNG named .jpg and declared JPEG is stored as the PNG it is.
    let png = encoded(&pattern(10, 10), ImageFormat::Png);
    let image = app
        .upload(Some(&app.editor), png, "x.jpg", "image/jpeg", &[])
        .await
        .expect(201);
    assert_eq!(image["mime_type"], "image/png");
}

#[tokio::test]
async fn broken_and_oversized_uploads_are_refused_and_leave_nothing_behind() {
    let app = TestApp::spawn_with(Options {
        image_max_bytes: 200_000,
        ..Options::default()
    })
    .await;
    let full = jpeg(300, 300);
    let truncated = app
        .upload(
            Some(&app.editor),
            full[..full.len() / 2].to_vec(),
            "t.jpg",
            "image/jpeg",
            &[],
        )
        .await
        .problem(422);
    assert_eq!(truncated["errors"][0]["field"], "file");
    let png = encoded(&pattern(300, 300), ImageFormat::Png);
    app.upload(
        Some(&app.editor),
        png[..png.len() / 2].to_vec(),
        "t.png",
        "image/png",
        &[],
    )
    .await
    .problem(422);
    let mut garbage = b"\xFF\xD8\xFF\xE0".to_vec();
    garbage.extend(std::iter::repeat_n(0x41u8, 5000));
    app.upload(Some(&app.editor), garbage, "g.jpg", "image/jpeg", &[])
        .await
        .problem(422);

    // A decompression bomb: 10,000 x 10,000 claimed in a 100-byte file.
    let bomb = app
        .upload(
            Some(&app.editor),
            png_bomb_header(10_000, 10_000),
            "b.png",
            "image/png",
            &[],
        )
        .await
        .problem(422);
    assert!(
        bomb["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("10000x10000 pixels"),
        "{bomb}"
    );
    app.upload(
        Some(&app.editor),
        png_bomb_header(100_000, 10),
        "w.png",
        "image/png",
        &[],
    )
    .await
    .problem(422);

    let big = app
        .upload(
            Some(&app.editor),
            vec![0u8; 300_000],
            "big.jpg",
            "image/jpeg",
            &[],
        )
        .await
        .problem(413);
    assert!(big["detail"].as_str().unwrap().contains("200000"));

    assert_eq!(stored_files(&app), 0, "no file left behind");
    assert_eq!(
        app.get("/api/v1/images", None).await.expect(200)["meta"]["total"],
        0
    );
}

#[tokio::test]
async fn the_form_is_checked() {
    let app = TestApp::spawn().await;
    app.upload(None, jpeg(10, 10), "a.jpg", "image/jpeg", &[])
        .await
        .problem(401);
    let not_multipart = app
        .post("/api/v1/images", Some(&app.editor), &json!({"file": "x"}))
        .await
        .problem(415);
    assert!(
        not_multipart["detail"]
            .as_str()
            .unwrap()
            .contains("multipart/form-data")
    );
    let bad = app
        .upload(
            Some(&app.editor),
            jpeg(10, 10),
            "a.jpg",
            "image/jpeg",
            &[
                ("focal_x", "1.5"),
                ("focal_y", "left"),
                ("alt", &"a".repeat(1001)),
            ],
        )
        .await
        .problem(422);
    let mut fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["alt", "focal_x", "focal_y"]);
    let unknown = app
        .upload(
            Some(&app.editor),
            jpeg(10, 10),
            "a.jpg",
            "image/jpeg",
            &[("titel", "x")],
        )
        .await
        .problem(422);
    assert_eq!(unknown["errors"][0]["field"], "titel");
    let form = reqwest::multipart::Form::new().text("alt", "no file");
    let missing = app
        .send(
            app.request(reqwest::Method::POST, "/api/v1/images")
                .bearer_auth(&app.editor)
                .multipart(form),
        )
        .await
        .problem(422);
    assert_eq!(missing["errors"][0]["field"], "file");
    assert_eq!(stored_files(&app), 0);
}

#[tokio::test]
async fn the_same_bytes_return_the_existing_image() {
    let app = TestApp::spawn().await;
    let bytes = jpeg(64, 64);
    let first = app
        .upload(
            Some(&app.editor),
            bytes.clone(),
            "a.jpg",
            "image/jpeg",
            &[("alt", "first")],
        )
        .await
        .expect(201);
    let again = app
        .upload(
            Some(&app.admin),
            bytes,
            "b.jpg",
            "image/jpeg",
            &[("alt", "second")],
        )
        .await;
    let second = again.expect(200);
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["alt"], "first");
    assert!(again.header("location").is_some());
    assert_eq!(
        app.get("/api/v1/images", None).await.expect(200)["meta"]["total"],
        1
    );
}

#[tokio::test]
async fn the_same_bytes_uploaded_at_once_keep_one_image_and_its_files() {
    let app = TestApp::spawn().await;
    let bytes = jpeg(300, 200);
    let uploads = (0..6).map(|_| {
        app.upload(
            Some(&app.editor),
            bytes.clone(),
            "double-submit.jpg",
            "image/jpeg",
            &[("alt", "double submit")],
        )
    });
    let replies = futures_util::future::join_all(uploads).await;
    let mut ids = Vec::new();
    for reply in &replies {
        assert!(
            matches!(reply.status.as_u16(), 200 | 201),
            "{}",
            reply.text()
        );
        ids.push(reply.json()["id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one image for the same bytes");
    let image = app
        .get(&format!("/api/v1/images/{}", ids[0]), None)
        .await
        .expect(200);
    for url in std::iter::once(&image["url"]).chain(
        image["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| &v["url"]),
    ) {
        let file = app.fetch(url.as_str().unwrap(), &[]).await;
        assert_eq!(file.status, 200, "{url} is still stored");
    }
}

#[tokio::test]
async fn media_is_cached_forever_with_304_and_ranges() {
    let app = TestApp::spawn().await;
    let image = app
        .upload(
            Some(&app.editor),
            jpeg(800, 600),
            "a.jpg",
            "image/jpeg",
            &[],
        )
        .await
        .expect(201);
    let url = image["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/media/images/", app.address)),
        "{url}"
    );
    let full = app.fetch(url, &[]).await;
    assert_eq!(
        full.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(full.header("accept-ranges"), Some("bytes"));
    let etag = full.header("etag").unwrap().to_owned();
    let cached = app.fetch(url, &[("If-None-Match", &etag)]).await;
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());

    let part = app.fetch(url, &[("Range", "bytes=10-109")]).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, full.body[10..110]);
    let size = full.body.len();
    assert_eq!(
        part.header("content-range").unwrap(),
        format!("bytes 10-109/{size}")
    );
    let tail = app.fetch(url, &[("Range", "bytes=-5")]).await;
    assert_eq!(tail.body, full.body[size - 5..]);
    let outside = app
        .fetch(url, &[("Range", &format!("bytes={}-", size + 10))])
        .await;
    outside.problem(416);
    assert_eq!(
        outside.header("content-range").unwrap(),
        format!("bytes */{size}")
    );

    for path in [
        "/media/../Cargo.toml",
        "/media/images/../../etc/passwd",
        "/media/images/%2e%2e/%2e%2e/etc/passwd",
        "/media/images/..%2f..%2fetc%2fpasswd",
        "/media/%2Fetc%2Fpasswd",
        "/media/images/ab/nothing.jpg",
    ] {
        let reply = app.fetch(&app.url(path), &[]).await;
        reply.problem(404);
    }
}

#[tokio::test]
async fn media_url_points_at_a_cdn() {
    let app = TestApp::spawn_with(Options {
        media_url: Some("https://cdn.example.com/lede/".into()),
        ..Options::default()
    })
    .await;
    let image = app
        .upload(
            Some(&app.editor),
            jpeg(400, 300),
            "a.jpg",
            "image/jpeg",
            &[],
        )
        .await
        .expect(201);
    assert!(
        image["url"]
            .as_str()
            .unwrap()
            .starts_with("https://cdn.example.com/lede/images/")
    );
    assert!(
        image["variants"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://cdn.example.com/lede/images/")
    );
}

#[tokio::test]
async fn text_and_focal_point_are_edited_and_authors_touch_only_their_own() {
    let app = TestApp::spawn().await;
    let mine = app
        .upload(
            Some(&app.author),
            jpeg(50, 50),
            "a.jpg",
            "image/jpeg",
            &[("caption", "Old")],
        )
        .await
        .expect(201);
    let theirs = app
        .upload(Some(&app.editor), jpeg(60, 60), "b.jpg", "image/jpeg", &[])
        .await
        .expect(201);
    let path = format!("/api/v1/images/{}", mine["id"].as_str().unwrap());
    let changed = app
        .patch(
            &path,
            Some(&app.author),
            &json!({"alt": "A <b>bold</b> claim", "caption": null, "focal_x": 0.25, "focal_y": 1}),
        )
        .await
        .expect(200);
    assert_eq!(changed["alt"], "A <b>bold</b> claim");
    assert!(changed["caption"].is_null());
    assert_eq!(changed["focal_x"], 0.25);
    app.patch(&path, Some(&app.author), &json!({"focal_x": 2}))
        .await
        .problem(422);
    app.patch(&path, Some(&app.author), &json!({"width": 2}))
        .await
        .problem(422);
    let other = format!("/api/v1/images/{}", theirs["id"].as_str().unwrap());
    app.patch(&other, Some(&app.author), &json!({"alt": "mine now"}))
        .await
        .problem(403);
    app.delete(&other, Some(&app.author)).await.problem(403);
    app.patch(&other, None, &json!({"alt": "x"}))
        .await
        .problem(401);

    let etag = app
        .get(&path, None)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let stale = app
        .send(
            app.request(reqwest::Method::PATCH, &path)
                .bearer_auth(&app.editor)
                .header("If-Match", "\"stale\"")
                .json(&json!({"alt": "x"})),
        )
        .await;
    stale.problem(412);
    let fresh = app
        .send(
            app.request(reqwest::Method::PATCH, &path)
                .bearer_auth(&app.editor)
                .header("If-Match", &etag)
                .json(&json!({"credit": "Photo: Test"})),
        )
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.text());
}

#[tokio::test]
async fn deleting_removes_files_unless_the_image_is_an_avatar() {
    let app = TestApp::spawn().await;
    let image = app
        .upload(
            Some(&app.editor),
            jpeg(700, 500),
            "a.jpg",
            "image/jpeg",
            &[("alt", "Portrait")],
        )
        .await
        .expect(201);
    let id = image["id"].as_str().unwrap();
    assert!(stored_files(&app) >= 3);

    // As avatar, the image is embedded in the author, everywhere the author appears.
    let author = app
        .patch(
            "/api/v1/authors/test-author",
            Some(&app.editor),
            &json!({"avatar": id}),
        )
        .await
        .expect(200);
    assert_eq!(author["avatar"]["id"], id);
    assert_eq!(author["avatar"]["url"], image["url"]);
    // (Its AVIF and WebP renditions joined the variants since the upload answered.)
    let jpeg_variants: Vec<&Value> = author["avatar"]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["mime_type"] == "image/jpeg")
        .collect();
    assert_eq!(json!(jpeg_variants), image["variants"]);
    // The square crop is there for a round avatar, in each format.
    for mime in ["image/jpeg", "image/avif", "image/webp"] {
        let square = author["avatar"]["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "square" && v["mime_type"] == mime)
            .unwrap_or_else(|| panic!("no {mime} square in {author}"));
        assert_eq!(
            (&square["width"], &square["height"]),
            (&json!(400), &json!(400))
        );
    }
    let listed = app.get("/api/v1/authors", None).await.expect(200);
    assert_eq!(listed["data"][0]["avatar"]["alt"], "Portrait");
    let missing = app
        .patch(
            "/api/v1/authors/test-author",
            Some(&app.editor),
            &json!({"avatar": uuid::Uuid::now_v7()}),
        )
        .await
        .problem(422);
    assert_eq!(missing["errors"][0]["field"], "avatar");

    let busy = app
        .delete(&format!("/api/v1/images/{id}"), Some(&app.editor))
        .await
        .problem(409);
    assert!(
        busy["detail"].as_str().unwrap().contains("test-author"),
        "{busy}"
    );
    app.patch(
        "/api/v1/authors/test-author",
        Some(&app.editor),
        &json!({"avatar": null}),
    )
    .await
    .expect(200);
    app.delete(&format!("/api/v1/images/{id}"), Some(&app.editor))
        .await
        .expect(204);
    app.get(&format!("/api/v1/images/{id}"), None)
        .await
        .problem(404);
    assert_eq!(stored_files(&app), 0, "every file is removed");
    let gone = app.fetch(image["url"].as_str().unwrap(), &[]).await;
    gone.problem(404);
}

#[tokio::test]
async fn image_json_has_every_documented_field() {
    let app = TestApp::spawn().await;
    let image: Value = app
        .upload(
            Some(&app.editor),
            jpeg(30, 20),
            "a.jpg",
            "image/jpeg",
            &[("credit", "Me")],
        )
        .await
        .expect(201);
    for field in [
        "id",
        "url",
        "mime_type",
        "width",
        "height",
        "byte_size",
        "alt",
        "caption",
        "credit",
        "variants",
        "created_at",
        "focal_x",
        "focal_y",
        "updated_at",
        "placeholder",
        "dominant_color",
    ] {
        assert!(image.get(field).is_some(), "{field} missing: {image}");
    }
    let etag_reply = app
        .get(
            &format!("/api/v1/images/{}", image["id"].as_str().unwrap()),
            None,
        )
        .await;
    let etag = etag_reply.header("etag").unwrap();
    let again = app
        .send(
            app.request(
                reqwest::Method::GET,
                &format!("/api/v1/images/{}", image["id"].as_str().unwrap()),
            )
            .header("If-None-Match", etag),
        )
        .await;
    assert_eq!(again.status, 304);
}

/// A PNG chunk: length, type, data, CRC.
fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let mut crc = crc32(kind);
    crc = crc32_continue(crc, data);
    chunk.extend_from_slice(&crc.to_be_bytes());
    chunk
}

fn crc32(bytes: &[u8]) -> u32 {
    crc32_continue(0, bytes)
}

fn crc32_continue(crc: u32, bytes: &[u8]) -> u32 {
    let mut crc = !crc;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn served_originals_keep_only_known_safe_chunks() {
    let app = TestApp::spawn().await;
    // A PNG with a private chunk, a text chunk and an oversized colour profile after IHDR.
    let plain = encoded(&pattern(60, 40), ImageFormat::Png);
    let ihdr_end = 8 + 25;
    let mut png = plain[..ihdr_end].to_vec();
    png.extend(png_chunk(b"prVt", SECRET.as_bytes()));
    png.extend(png_chunk(b"tEXt", format!("Comment\0{SECRET}").as_bytes()));
    let mut profile = b"icc\0\0".to_vec();
    profile.extend(std::iter::repeat_n(b'x', 200_000));
    png.extend(png_chunk(b"iCCP", &profile));
    png.extend_from_slice(&plain[ihdr_end..]);
    let image = app
        .upload(Some(&app.editor), png, "p.png", "image/png", &[])
        .await
        .expect(201);
    let served = app.fetch(image["url"].as_str().unwrap(), &[]).await;
    assert_eq!(
        served.body, plain,
        "the PNG as it was, minus the extra chunks"
    );
    assert_eq!(served.header("x-content-type-options"), Some("nosniff"));

    // A GIF with a comment extension and an unknown application extension.
    let gif = encoded(&pattern(30, 20), ImageFormat::Gif);
    let header_end = 13
        + if gif[10] & 0x80 != 0 {
            3 << ((gif[10] & 7) + 1)
        } else {
            0
        };
    let mut with_extras = gif[..header_end].to_vec();
    with_extras.extend_from_slice(&[0x21, 0xFE, SECRET.len() as u8]);
    with_extras.extend_from_slice(SECRET.as_bytes());
    with_extras.push(0);
    with_extras.extend_from_slice(&[0x21, 0xFF, 11]);
    with_extras.extend_from_slice(b"XMP DataXMP");
    with_extras.push(SECRET.len() as u8);
    with_extras.extend_from_slice(SECRET.as_bytes());
    with_extras.push(0);
    with_extras.extend_from_slice(&gif[header_end..]);
    let image = app
        .upload(Some(&app.editor), with_extras, "g.gif", "image/gif", &[])
        .await
        .expect(201);
    let served = app.fetch(image["url"].as_str().unwrap(), &[]).await;
    assert_eq!(served.body, gif, "the GIF as it was, minus the extensions");
    decode(&served.body);
}

#[tokio::test]
async fn urls_given_by_people_are_stored_normalised() {
    let app = TestApp::spawn().await;
    let author = app
        .post(
            "/api/v1/authors",
            Some(&app.editor),
            &json!({"name": "Quote Marks", "website": "https://example.com/a\"b<c>d e?q=\"x\"#<f>"}),
        )
        .await
        .expect(201);
    let website = author["website"].as_str().unwrap();
    assert!(!website.contains(['"', '<', '>', ' ']), "{website}");
    assert!(
        website.starts_with("https://example.com/a%22b%3Cc%3Ed%20e"),
        "{website}"
    );
    let problem = app
        .post(
            "/api/v1/authors",
            Some(&app.editor),
            &json!({"name": "Creds", "website": "https://user:pw@example.com/"}),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "website");
    let article = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "Open", "author": "test-author", "status": "published"}),
        )
        .await
        .expect(201);
    let comment = app
        .post(
            &format!(
                "/api/v1/articles/{}/comments",
                article["id"].as_str().unwrap()
            ),
            None,
            &json!({"author_name": "Q", "author_email": "q@example.com",
                    "author_url": "http://example.com/\"><script>", "body": "Hi"}),
        )
        .await
        .expect(201);
    let url = comment["author_url"].as_str().unwrap();
    assert_eq!(url, "http://example.com/%22%3E%3Cscript%3E");
}

#[tokio::test]
async fn figures_show_the_image_current_text() {
    let app = TestApp::spawn().await;
    let image = app
        .upload(
            Some(&app.editor),
            jpeg(640, 480),
            "f.jpg",
            "image/jpeg",
            &[
                ("alt", "Old alt"),
                ("caption", "Old caption"),
                ("credit", "Old credit"),
            ],
        )
        .await
        .expect(201);
    let id = image["id"].as_str().unwrap();
    let article = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "Figured", "author": "test-author", "status": "published",
                    "body_markdown": format!("Intro.\n\n![](image:{id})\n\n![Written alt](image:{id})")}),
        )
        .await
        .expect(201);
    let path = "/api/v1/articles/figured";
    // Read once, so the answer is kept.
    let before = app.get(path, None).await.expect(200);
    assert!(
        before["body_html"]
            .as_str()
            .unwrap()
            .contains("Old caption")
    );
    app.patch(
        &format!("/api/v1/images/{id}"),
        Some(&app.editor),
        &json!({"alt": "New alt", "caption": "New <caption>", "credit": null}),
    )
    .await
    .expect(200);
    // The image's write commits at once; the articles showing it follow, by a job.
    crate::support::eventually(30, "the figure shows the new text", || async {
        let after = app.get(path, None).await.expect(200);
        after["body_html"].as_str().unwrap().contains("New alt")
    })
    .await;
    let after = app.get(path, None).await.expect(200);
    let html = after["body_html"].as_str().unwrap();
    assert!(html.contains("alt=\"New alt\""), "{html}");
    assert!(
        html.contains("alt=\"Written alt\""),
        "the markdown's alt still wins: {html}"
    );
    assert!(html.contains("New &lt;caption&gt;"), "{html}");
    assert!(!html.contains("Old"), "{html}");
    assert_eq!(
        after["version"], article["version"],
        "the article's own text is unchanged"
    );
    let listed = app
        .get("/api/v1/articles?include=body", None)
        .await
        .expect(200);
    assert!(
        listed["data"][0]["body_html"]
            .as_str()
            .unwrap()
            .contains("New alt")
    );
}

/// A script checks for its file by content hash before uploading, so a re-run uploads
/// nothing twice.
#[tokio::test]
async fn an_image_is_found_by_the_sha256_of_its_bytes() {
    use sha2::Digest;
    let app = TestApp::spawn().await;
    let bytes = jpeg(64, 48);
    let hash = hex::encode(sha2::Sha256::digest(&bytes));
    let before = app
        .get(&format!("/api/v1/images?sha256={hash}"), None)
        .await
        .expect(200);
    assert_eq!(before["meta"]["total"], 0);
    let uploaded = app
        .upload(Some(&app.editor), bytes, "a.jpg", "image/jpeg", &[])
        .await
        .expect(201);
    app.upload(Some(&app.editor), jpeg(80, 60), "b.jpg", "image/jpeg", &[])
        .await
        .expect(201);
    for asked in [hash.clone(), hash.to_uppercase()] {
        let found = app
            .get(&format!("/api/v1/images?sha256={asked}"), None)
            .await
            .expect(200);
        assert_eq!(found["meta"]["total"], 1, "{found}");
        assert_eq!(found["data"][0]["id"], uploaded["id"]);
    }
    for bad in ["abc", "zz", &"0".repeat(63), &"g".repeat(64)] {
        let problem = app
            .get(&format!("/api/v1/images?sha256={bad}"), None)
            .await
            .problem(400);
        assert!(
            problem["detail"].as_str().unwrap().contains("sha256"),
            "{problem}"
        );
    }
}

#[tokio::test]
async fn every_image_has_a_placeholder_of_its_shape_and_colour_and_figures_carry_them() {
    use base64::Engine;
    let app = TestApp::spawn().await;
    // A wide, mostly red picture with a transparent band (which must not darken it).
    let wide = DynamicImage::ImageRgba8(ImageBuffer::from_fn(320, 120, |_, y| {
        if y < 20 {
            image::Rgba([0, 0, 0, 0])
        } else {
            image::Rgba([220, 30, 40, 255])
        }
    }));
    let image = app
        .upload(
            Some(&app.editor),
            encoded(&wide, ImageFormat::Png),
            "wide.png",
            "image/png",
            &[],
        )
        .await
        .expect(201);
    let hash = base64::engine::general_purpose::STANDARD
        .decode(image["placeholder"].as_str().unwrap())
        .unwrap();
    let ratio = thumbhash::thumb_hash_to_approximate_aspect_ratio(&hash).unwrap();
    assert!((ratio - 320.0 / 120.0).abs() < 0.2, "{ratio}");
    let (w, h, rgba) = thumbhash::thumb_hash_to_rgba(&hash).unwrap();
    assert!(w > h && rgba.len() == w * h * 4);
    // Red, not darkened by the transparent band (the edge of the thumbnail blends a little).
    let color = image["dominant_color"].as_str().unwrap();
    let channel = |at: usize| i32::from_str_radix(&color[at..at + 2], 16).unwrap();
    let near = |got: i32, want: i32| (got - want).abs() <= 6;
    assert!(
        color.len() == 7 && near(channel(1), 220) && near(channel(3), 30) && near(channel(5), 40),
        "{color}"
    );

    // A figure keeps its box before the bytes arrive, with the placeholder to paint.
    let id = image["id"].as_str().unwrap();
    let article = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "Red", "author": "test-author", "status": "published",
                "body_markdown": format!("![Red](image:{id})")}),
        )
        .await
        .expect(201);
    let html = article["body_html"].as_str().unwrap();
    assert!(
        html.contains(&format!(
            "style=\"aspect-ratio: 320 / 120\" data-placeholder=\"{}\"",
            image["placeholder"].as_str().unwrap()
        )),
        "{html}"
    );
}

/// AVIF and WebP renditions are made after the upload is answered, and figures pick them up.
#[tokio::test]
async fn modern_renditions_follow_the_upload_and_figures_offer_them() {
    let app = TestApp::spawn().await;
    let image = app
        .upload_unwaited(
            Some(&app.editor),
            jpeg(1100, 700),
            "photo.jpg",
            "image/jpeg",
            &[],
        )
        .await
        .expect(201);
    // Answered before the slow encodes: no AVIF or WebP yet.
    let modern = |image: &Value| -> Vec<Value> {
        image["variants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["mime_type"] == "image/avif" || v["mime_type"] == "image/webp")
            .cloned()
            .collect()
    };
    assert!(modern(&image).is_empty(), "{image}");
    let id = image["id"].as_str().unwrap();
    let article = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "Photo", "author": "test-author", "status": "published",
                "body_markdown": format!("![A photo](image:{id})")}),
        )
        .await
        .expect(201);
    let slug = article["slug"].as_str().unwrap().to_owned();
    // The job adds them; the article already showing the image is rendered again.
    let mut html = String::new();
    for _ in 0..600 {
        let read = app
            .get(&format!("/api/v1/articles/{slug}"), None)
            .await
            .expect(200);
        html = read["body_html"].as_str().unwrap().to_owned();
        if html.contains("<source type=\"image/avif\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // AVIF first (a browser takes the first source it can show), then WebP, then the JPEG.
    let (avif, webp) = (
        html.find("<source type=\"image/avif\" srcset=\""),
        html.find("<source type=\"image/webp\" srcset=\""),
    );
    assert!(
        html.contains("<picture><source type=\"image/avif\"")
            && avif < webp
            && webp < html.find("<img"),
        "{html}"
    );
    let now = app
        .get(&format!("/api/v1/images/{id}"), None)
        .await
        .expect(200);
    let modern = modern(&now);
    let names: Vec<(&str, &str)> = modern
        .iter()
        .map(|v| {
            (
                v["mime_type"].as_str().unwrap(),
                v["name"].as_str().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(&str, &str)> = ["image/avif", "image/webp"]
        .into_iter()
        .flat_map(|mime| {
            ["w320", "w640", "w1024", "w1100", "square", "social"].map(|name| (mime, name))
        })
        .collect();
    assert_eq!(names, expected);
    for variant in &modern {
        let served = app.fetch(variant["url"].as_str().unwrap(), &[]).await;
        assert_eq!(served.header("content-type"), variant["mime_type"].as_str());
        let decoded = decode(&served.body);
        assert_eq!(
            (u64::from(decoded.width()), u64::from(decoded.height())),
            (
                variant["width"].as_u64().unwrap(),
                variant["height"].as_u64().unwrap()
            ),
            "{} {}",
            variant["mime_type"],
            variant["name"]
        );
        let name = variant["name"].as_str().unwrap();
        // Widths are offered in the figure's sources; crops are not.
        assert_eq!(
            html.contains(variant["url"].as_str().unwrap()),
            name.starts_with('w')
        );
    }
}

#[tokio::test]
async fn images_are_found_by_words_of_their_alt_text_caption_and_credit() {
    let app = TestApp::spawn().await;
    for (seed, alt, caption, credit) in [
        (
            1u8,
            "The harbour at dawn",
            "Boats leave before six",
            "Photo: Ines",
        ),
        (
            2,
            "A bakery oven",
            "100% rye, baked at 3 a.m.",
            "Photo: Tomasz",
        ),
        (
            3,
            "Storm clouds",
            "The front over the HARBOUR wall",
            "Agency_pictures",
        ),
    ] {
        app.upload_unwaited(
            Some(&app.editor),
            crate::roles::png(seed),
            "x.png",
            "image/png",
            &[("alt", alt), ("caption", caption), ("credit", credit)],
        )
        .await
        .expect(201);
    }
    let alts = async |q: &str| -> Vec<String> {
        let list = app
            .get(&format!("/api/v1/images?q={}", urlencode(q)), None)
            .await
            .expect(200);
        let mut alts: Vec<String> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["alt"].as_str().unwrap().to_owned())
            .collect();
        alts.sort();
        alts
    };
    // Any case, anywhere in a word, every word, in any of the three fields.
    assert_eq!(alts("harb").await, ["Storm clouds", "The harbour at dawn"]);
    assert_eq!(alts("harbour wall").await, ["Storm clouds"]);
    assert_eq!(alts("tomasz").await, ["A bakery oven"]);
    // `%` and `_` are letters here, not patterns.
    assert_eq!(alts("100%").await, ["A bakery oven"]);
    assert_eq!(alts("%").await, ["A bakery oven"]);
    assert_eq!(alts("y_p").await, ["Storm clouds"]);
    assert!(alts("_____").await.is_empty());
    assert!(alts("nowhere").await.is_empty());
    // Bounded: eleven words, or a word of 101 characters, is a 400.
    let problem = app
        .get(
            &format!("/api/v1/images?q={}", urlencode(&"a ".repeat(11))),
            None,
        )
        .await
        .problem(400);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("at most 10 words")
    );
    app.get(&format!("/api/v1/images?q={}", "a".repeat(101)), None)
        .await
        .problem(400);
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
