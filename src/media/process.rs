//! What happens to uploaded bytes, off the async workers: the type is judged from the bytes,
//! the size is checked from the header before anything is decoded, EXIF orientation is
//! applied, metadata (EXIF, XMP, comments: GPS positions live there) is stripped from what
//! is served, and resized variants are made for `srcset`.
use std::io::Cursor;

use actix_web::web::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use img_parts::ImageEXIF;

/// Widths of the variants made for `srcset`; none wider than the original.
pub const VARIANT_WIDTHS: [u32; 4] = [320, 640, 1024, 1600];

const ORIGINAL_QUALITY: u8 = 90;
const VARIANT_QUALITY: u8 = 82;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_pixels: u64,
    pub max_dimension: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    Gif,
    Webp,
    /// Made by lede (renditions), never taken as an upload: nothing here decodes it.
    Avif,
}

impl Kind {
    pub fn mime_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Gif => "image/gif",
            Kind::Webp => "image/webp",
            Kind::Avif => "image/avif",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
            Kind::Gif => "gif",
            Kind::Webp => "webp",
            Kind::Avif => "avif",
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            Kind::Jpeg => ImageFormat::Jpeg,
            Kind::Png => ImageFormat::Png,
            Kind::Gif => ImageFormat::Gif,
            Kind::Webp => ImageFormat::WebP,
            Kind::Avif => ImageFormat::Avif,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProcessError {
    #[error("{0}")]
    Unsupported(String),
    #[error("the image is {width}x{height} pixels; at most {max} pixels are accepted")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("the image is {width}x{height} pixels; each side may be at most {max} pixels")]
    TooWide { width: u32, height: u32, max: u32 },
    #[error("the file could not be read as {kind}: {reason}")]
    Corrupt { kind: &'static str, reason: String },
}

/// One stored file: the served original or a variant.
#[derive(Debug)]
pub struct Encoded {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub kind: Kind,
    pub bytes: Vec<u8>,
}

#[derive(Debug)]
pub struct Processed {
    pub original: Encoded,
    pub variants: Vec<Encoded>,
    /// ThumbHash, base64.
    pub placeholder: String,
    /// The average colour, `#rrggbb`.
    pub dominant_color: String,
}

/// The kind of image the bytes hold, whatever the upload claimed.
pub fn sniff(bytes: &[u8]) -> Result<Kind, ProcessError> {
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Ok(Kind::Jpeg),
        Ok(ImageFormat::Png) => Ok(Kind::Png),
        Ok(ImageFormat::Gif) => Ok(Kind::Gif),
        Ok(ImageFormat::WebP) => Ok(Kind::Webp),
        Ok(other) => Err(ProcessError::Unsupported(format!(
            "the file is {} ({}); upload JPEG, PNG, GIF or WebP",
            other.to_mime_type(),
            if other == ImageFormat::Avif {
                "AVIF decoding is not built in"
            } else {
                "not supported"
            }
        ))),
        Err(_) => Err(ProcessError::Unsupported(format!(
            "the file is {}, not an image; upload JPEG, PNG, GIF or WebP",
            describe(bytes)
        ))),
    }
}

/// A few words on what unrecognised bytes look like, for the error message.
fn describe(bytes: &[u8]) -> &'static str {
    let head = &bytes[..bytes.len().min(512)];
    if head.is_empty() {
        "empty"
    } else if head.starts_with(b"%PDF") {
        "a PDF document"
    } else if std::str::from_utf8(head).is_ok_and(|t| t.trim_start().starts_with('<')) {
        "HTML or XML text"
    } else if std::str::from_utf8(head).is_ok() {
        "plain text"
    } else {
        "unrecognised binary data"
    }
}

/// What the header says, checked against the limits: read before anything is decoded.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    pub kind: Kind,
    pub width: u32,
    pub height: u32,
}

/// Reads and checks an upload's header: its kind, whether it is of a size lede takes, and
/// (for JPEG) whether it is whole. Cheap: a decompression bomb stops here.
pub fn inspect(bytes: &[u8], limits: Limits) -> Result<Header, ProcessError> {
    let kind = sniff(bytes)?;
    let corrupt = |reason: String| ProcessError::Corrupt {
        kind: kind.mime_type(),
        reason,
    };
    // The header alone says how big the image is: a decompression bomb stops here.
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), kind.format())
        .into_dimensions()
        .map_err(|e| corrupt(e.to_string()))?;
    if width > limits.max_dimension || height > limits.max_dimension {
        return Err(ProcessError::TooWide {
            width,
            height,
            max: limits.max_dimension,
        });
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ProcessError::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    if kind == Kind::Jpeg && !has_jpeg_end(bytes) {
        return Err(corrupt(
            "the file is truncated (no end-of-image marker)".into(),
        ));
    }
    Ok(Header {
        kind,
        width,
        height,
    })
}

/// The focal point's default: the middle.
pub const CENTRE: (f32, f32) = (0.5, 0.5);

/// The point crops are cut around: the given one, or the middle for what is not given.
pub fn focus(focal_x: Option<f32>, focal_y: Option<f32>) -> (f32, f32) {
    (focal_x.unwrap_or(CENTRE.0), focal_y.unwrap_or(CENTRE.1))
}

/// Named crops, cut around the focal point: `square` for avatars and thumbnails, `social`
/// for Open Graph cards. Never enlarged: a smaller original gives a smaller crop.
pub const CROPS: [(&str, u32, u32); 2] = [("square", 400, 400), ("social", 1200, 630)];

/// Decodes within the limits (the decoder's allocations bounded by the pixel limit), turned
/// as its orientation says.
fn decode(bytes: &[u8], limits: Limits) -> Result<(Kind, DynamicImage, Orientation), ProcessError> {
    let Header { kind, .. } = inspect(bytes, limits)?;
    let corrupt = |reason: String| ProcessError::Corrupt {
        kind: kind.mime_type(),
        reason,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_dimension);
    decoder_limits.max_image_height = Some(limits.max_dimension);
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    reader.limits(decoder_limits);
    let mut decoder = reader.into_decoder().map_err(|e| corrupt(e.to_string()))?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| corrupt(e.to_string()))?;
    image.apply_orientation(orientation);
    Ok((kind, image, orientation))
}

/// The largest original (each side) that also gets modern renditions of its own size.
const MODERN_ORIGINAL_MAX: u32 = 2_560;

/// Qualities of the modern formats, chosen so their luma SSIM stays within about 0.003 of
/// the JPEG variants' (quality 82) on real photos, at every width and crop (measured with
/// `bench/image-quality`; AVIF at 80 fell 0.01 short): WebP is then 41 to 72 % of the
/// JPEG's bytes, AVIF 33 to 60 %.
const WEBP_QUALITY: f32 = 88.0;
const AVIF_QUALITY: f32 = 85.0;
/// rav1e's fastest speed: without assembly (no nasm on a fresh machine) a 1600 px AVIF
/// takes about a second of a core even so.
const AVIF_SPEED: u8 = 10;

/// The image in the modern formats, AVIF then WebP (lossy): every width, the original's
/// own (up to `MODERN_ORIGINAL_MAX` a side) and the named crops around `focus`, named as the
/// original-format ones are. Slow (AVIF above all): made by a job after the upload was
/// answered, one frame at a time (only the decoded original and one frame are held).
/// libwebp is built from its bundled source by `libwebp-sys` (the `image` crate writes
/// lossless WebP only, several times larger); AVIF is rav1e's, through `ravif`.
pub fn modern_renditions(
    bytes: &[u8],
    limits: Limits,
    focus: (f32, f32),
) -> Result<Vec<Encoded>, ProcessError> {
    let (kind, image, _) = decode(bytes, limits)?;
    let corrupt = |reason: String| ProcessError::Corrupt {
        kind: kind.mime_type(),
        reason,
    };
    let mut widths: Vec<u32> = VARIANT_WIDTHS
        .iter()
        .copied()
        .filter(|w| *w < image.width())
        .collect();
    // The original's own size too, when a page shows it (a 7000 px one would cost seconds
    // of a core per upload for no reader).
    if image.width() <= MODERN_ORIGINAL_MAX && image.height() <= MODERN_ORIGINAL_MAX {
        widths.push(image.width());
    }
    let (mut avif_files, mut webp_files) = (Vec::new(), Vec::new());
    let mut add = |name: &str, frame: &DynamicImage| -> Result<(), ProcessError> {
        for (files, kind, encoder) in [
            (&mut avif_files, Kind::Avif, avif as fn(&DynamicImage) -> _),
            (&mut webp_files, Kind::Webp, webp),
        ] {
            files.push(Encoded {
                name: name.to_owned(),
                width: frame.width(),
                height: frame.height(),
                kind,
                bytes: encoder(frame).map_err(corrupt)?,
            });
        }
        Ok(())
    };
    for width in widths {
        match width == image.width() {
            true => add(&format!("w{width}"), &image)?,
            false => {
                let resized =
                    image.resize_exact(width, height_at(&image, width), FilterType::CatmullRom);
                add(&format!("w{width}"), &resized)?;
            }
        }
    }
    for (name, region) in cut_crops(&image, focus) {
        add(name, &region)?;
    }
    avif_files.append(&mut webp_files);
    Ok(avif_files)
}

/// The height of `image` resized to `width`, rounded, at least 1.
fn height_at(image: &DynamicImage, width: u32) -> u32 {
    ((u64::from(image.height()) * u64::from(width) + u64::from(image.width()) / 2)
        / u64::from(image.width()))
    .max(1) as u32
}

fn webp(image: &DynamicImage) -> Result<Vec<u8>, String> {
    let (width, height) = (image.width(), image.height());
    let encoded = if image.color().has_alpha() {
        let rgba = image.to_rgba8();
        webp::Encoder::from_rgba(rgba.as_raw(), width, height).encode_simple(false, WEBP_QUALITY)
    } else {
        let rgb = image.to_rgb8();
        webp::Encoder::from_rgb(rgb.as_raw(), width, height).encode_simple(false, WEBP_QUALITY)
    };
    encoded
        .map(|memory| memory.to_vec())
        .map_err(|e| format!("WebP: {e:?}"))
}

/// 8-bit AVIF, as the sources are (ravif's default, 10-bit, encodes slower), on one
/// thread: the image budget gives each encode one worker place. Always through
/// `encode_rgba` (it leaves out an alpha channel that is all opaque): the `#[inline]`
/// `encode_rgb` would compile all of rav1e inside lede, unoptimised in test builds.
fn avif(image: &DynamicImage) -> Result<Vec<u8>, String> {
    use rgb::FromSlice;
    let rgba = image.to_rgba8();
    ravif::Encoder::new()
        .with_quality(AVIF_QUALITY)
        .with_alpha_quality(AVIF_QUALITY)
        .with_speed(AVIF_SPEED)
        .with_bit_depth(ravif::BitDepth::Eight)
        .with_num_threads(Some(1))
        .encode_rgba(ravif::Img::new(
            rgba.as_raw().as_rgba(),
            image.width() as usize,
            image.height() as usize,
        ))
        .map(|done| done.avif_file)
        .map_err(|e| format!("AVIF: {e}"))
}

/// Checks, decodes and renders an upload: the original, its widths and its crops around
/// `focus`, its placeholder and colour. CPU-heavy: run it on a blocking thread, within the
/// image budget.
pub fn process(bytes: &[u8], limits: Limits, focus: (f32, f32)) -> Result<Processed, ProcessError> {
    let (kind, image, orientation) = decode(bytes, limits)?;
    let corrupt = |reason: String| ProcessError::Corrupt {
        kind: kind.mime_type(),
        reason,
    };

    let original = if orientation == Orientation::NoTransforms {
        Encoded {
            name: "original".into(),
            width: image.width(),
            height: image.height(),
            kind,
            bytes: strip_metadata(kind, bytes).map_err(corrupt)?,
        }
    } else {
        // Turning the pixels is the only way to honour the orientation once EXIF is gone.
        let (kind, bytes) =
            encode(&image, kind == Kind::Jpeg, ORIGINAL_QUALITY).map_err(corrupt)?;
        Encoded {
            name: "original".into(),
            width: image.width(),
            height: image.height(),
            kind,
            bytes,
        }
    };
    let mut variants = make_variants(&image, kind == Kind::Jpeg).map_err(corrupt)?;
    variants.extend(make_crops(&image, kind == Kind::Jpeg, focus).map_err(corrupt)?);
    let (placeholder, dominant_color) = placeholder(&image);
    Ok(Processed {
        original,
        variants,
        placeholder,
        dominant_color,
    })
}

/// A ThumbHash of the image (made from at most 100x100 pixels, as the format wants) and its
/// average colour, alpha-weighted (transparent pixels do not darken it).
fn placeholder(image: &DynamicImage) -> (String, String) {
    use base64::Engine;
    let small = image.thumbnail(100, 100).to_rgba8();
    let hash = thumbhash::rgba_to_thumb_hash(
        small.width() as usize,
        small.height() as usize,
        small.as_raw(),
    );
    let (mut sums, mut weight) = ([0u64; 3], 0u64);
    for pixel in small.pixels() {
        let alpha = u64::from(pixel[3]);
        for (sum, channel) in sums.iter_mut().zip(&pixel.0[..3]) {
            *sum += u64::from(*channel) * alpha;
        }
        weight += alpha;
    }
    let [r, g, b] = sums.map(|sum| sum.checked_div(weight).unwrap_or(0));
    (
        base64::engine::general_purpose::STANDARD.encode(hash),
        format!("#{r:02x}{g:02x}{b:02x}"),
    )
}

fn has_jpeg_end(bytes: &[u8]) -> bool {
    // Some cameras pad after the end marker; look at the last few bytes.
    let tail = &bytes[bytes.len().saturating_sub(64)..];
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

/// The largest colour profile kept (real ones are a few KB; a big one is a smuggled payload).
const MAX_ICC_BYTES: usize = 64 * 1024;

/// Keeps only what is needed to show the image, without re-encoding (no quality loss): an
/// allowlist per format. Gone: EXIF and XMP (GPS positions live there), comments, text,
/// private and unknown chunks, and colour profiles over `MAX_ICC_BYTES`.
fn strip_metadata(kind: Kind, bytes: &[u8]) -> Result<Vec<u8>, String> {
    use img_parts::jpeg::markers;
    let input = Bytes::copy_from_slice(bytes);
    let stripped = match kind {
        Kind::Jpeg => {
            let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(input).map_err(|e| e.to_string())?;
            let mut icc = 0;
            // APP0 (JFIF), APP2 (ICC profile) and APP14 (Adobe colour transform) are needed
            // to show it; every other APPn (EXIF, XMP, IPTC, vendor data) and COM goes.
            jpeg.segments_mut()
                .retain(|segment| match segment.marker() {
                    markers::APP0 | markers::APP14 => true,
                    markers::APP2 => {
                        icc += segment.contents().len();
                        icc <= MAX_ICC_BYTES
                    }
                    marker => {
                        marker != markers::COM
                            && !(markers::APP1..=markers::APP15).contains(&marker)
                    }
                });
            jpeg.encoder().bytes()
        }
        Kind::Png => {
            let mut png = img_parts::png::Png::from_bytes(input).map_err(|e| e.to_string())?;
            png.chunks_mut().retain(|chunk| match &chunk.kind() {
                b"IHDR" | b"PLTE" | b"IDAT" | b"IEND" | b"tRNS" | b"gAMA" | b"cHRM" | b"sRGB"
                | b"sBIT" | b"pHYs" | b"bKGD" | b"acTL" | b"fcTL" | b"fdAT" => true,
                b"iCCP" => chunk.contents().len() <= MAX_ICC_BYTES,
                _ => false,
            });
            png.encoder().bytes()
        }
        Kind::Webp => {
            let mut webp = img_parts::webp::WebP::from_bytes(input).map_err(|e| e.to_string())?;
            webp.set_exif(None);
            webp.remove_chunks_by_id(img_parts::webp::CHUNK_XMP);
            webp.chunks_mut().retain(|chunk| match &chunk.id() {
                b"VP8 " | b"VP8L" | b"VP8X" | b"ALPH" | b"ANIM" | b"ANMF" => true,
                b"ICCP" => chunk.len() as usize <= MAX_ICC_BYTES,
                _ => false,
            });
            webp.encoder().bytes()
        }
        Kind::Gif => Bytes::from(gif_without_extras(bytes)?),
        Kind::Avif => return Err("AVIF is made by lede, never taken as an upload".into()),
    };
    Ok(stripped.to_vec())
}

/// A GIF with only its images and what shows them: comment, plain-text and application
/// extensions are dropped (except the NETSCAPE2.0/ANIMEXTS1.0 loop count); graphic control
/// extensions (delays, transparency) stay.
fn gif_without_extras(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let bad = || "the GIF's blocks are malformed".to_owned();
    let get = |range: std::ops::Range<usize>| bytes.get(range).ok_or_else(bad);
    // Header (6), logical screen descriptor (7), then the global colour table if flagged.
    let flags = *get(10..11)?.first().ok_or_else(bad)?;
    let table = |flags: u8| {
        if flags & 0x80 != 0 {
            3 << ((flags & 7) + 1)
        } else {
            0
        }
    };
    let mut at = 13 + table(flags);
    let mut out = get(0..at)?.to_vec();
    // Sub-blocks (length byte, data) up to the zero-length terminator: the end index.
    let sub_blocks_end = |mut at: usize| -> Result<usize, String> {
        loop {
            let len = *bytes.get(at).ok_or_else(bad)? as usize;
            at += 1 + len;
            if len == 0 {
                return Ok(at);
            }
        }
    };
    loop {
        // A file that ends between blocks (no trailer) is shown by browsers: end it.
        match bytes.get(at).copied().unwrap_or(0x3B) {
            0x3B => {
                out.push(0x3B);
                return Ok(out);
            }
            0x2C => {
                // Image descriptor (10), local colour table, LZW code size, data sub-blocks.
                let flags = *get(at + 9..at + 10)?.first().ok_or_else(bad)?;
                let end = sub_blocks_end(at + 10 + table(flags) + 1)?;
                out.extend_from_slice(get(at..end)?);
                at = end;
            }
            0x21 => {
                let label = *bytes.get(at + 1).ok_or_else(bad)?;
                let end = sub_blocks_end(at + 2)?;
                let keep = match label {
                    0xF9 => true,
                    0xFF => {
                        let id = get(at + 3..at + 14)?;
                        id == b"NETSCAPE2.0" || id == b"ANIMEXTS1.0"
                    }
                    _ => false,
                };
                if keep {
                    out.extend_from_slice(get(at..end)?);
                }
                at = end;
            }
            _ => return Err(bad()),
        }
    }
}

/// JPEG for opaque images that came as JPEG; PNG for the rest (keeps transparency).
fn encode(image: &DynamicImage, prefer_jpeg: bool, quality: u8) -> Result<(Kind, Vec<u8>), String> {
    let mut out = Vec::new();
    if prefer_jpeg && !image.color().has_alpha() {
        let rgb = image.to_rgb8();
        JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(&rgb)
            .map_err(|e| e.to_string())?;
        Ok((Kind::Jpeg, out))
    } else {
        image
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .map_err(|e| e.to_string())?;
        Ok((Kind::Png, out))
    }
}

/// Each variant is resized from the next larger one: much less work than from the
/// original every time, and the quality is the same at these ratios.
fn make_variants(image: &DynamicImage, prefer_jpeg: bool) -> Result<Vec<Encoded>, String> {
    let mut variants = Vec::new();
    let mut previous: Option<DynamicImage> = None;
    for &width in VARIANT_WIDTHS.iter().rev() {
        if width >= image.width() {
            continue;
        }
        let height = height_at(image, width);
        let source = previous.as_ref().unwrap_or(image);
        let resized = source.resize_exact(width, height, FilterType::CatmullRom);
        let (kind, bytes) = encode(&resized, prefer_jpeg, VARIANT_QUALITY)?;
        variants.push(Encoded {
            name: format!("w{width}"),
            width,
            height,
            kind,
            bytes,
        });
        previous = Some(resized);
    }
    variants.reverse();
    Ok(variants)
}

/// The largest region of the image with the shape `aspect` (width / height) whose centre is
/// as near the focal point (`focus`, 0 to 1 from the top left) as the edges allow: x, y,
/// width, height.
pub fn crop_region(
    width: u32,
    height: u32,
    aspect: f64,
    focus: (f32, f32),
) -> (u32, u32, u32, u32) {
    let (w, h) = (f64::from(width), f64::from(height));
    let (rw, rh) = if w / h > aspect {
        ((h * aspect).round().clamp(1.0, w), h)
    } else {
        (w, (w / aspect).round().clamp(1.0, h))
    };
    let x = (f64::from(focus.0.clamp(0.0, 1.0)) * w - rw / 2.0).clamp(0.0, w - rw);
    let y = (f64::from(focus.1.clamp(0.0, 1.0)) * h - rh / 2.0).clamp(0.0, h - rh);
    (x.round() as u32, y.round() as u32, rw as u32, rh as u32)
}

/// The named crops of the image, cut around `focus` and never enlarged.
fn cut_crops(image: &DynamicImage, focus: (f32, f32)) -> Vec<(&'static str, DynamicImage)> {
    CROPS
        .iter()
        .map(|&(name, width, height)| {
            let aspect = f64::from(width) / f64::from(height);
            let (x, y, w, h) = crop_region(image.width(), image.height(), aspect, focus);
            let region = image.crop_imm(x, y, w, h);
            let region = match w > width {
                true => region.resize_exact(width, height, FilterType::CatmullRom),
                false => region,
            };
            (name, region)
        })
        .collect()
}

fn make_crops(
    image: &DynamicImage,
    prefer_jpeg: bool,
    focus: (f32, f32),
) -> Result<Vec<Encoded>, String> {
    cut_crops(image, focus)
        .into_iter()
        .map(|(name, region)| {
            let (kind, bytes) = encode(&region, prefer_jpeg, VARIANT_QUALITY)?;
            Ok(Encoded {
                name: name.to_owned(),
                width: region.width(),
                height: region.height(),
                kind,
                bytes,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb, Rgba};

    const LIMITS: Limits = Limits {
        max_pixels: 50_000_000,
        max_dimension: 16_384,
    };

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let img = ImageBuffer::from_fn(width, height, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn sniffs_from_bytes_not_names() {
        assert_eq!(sniff(&jpeg(8, 8)), Ok(Kind::Jpeg));
        let text = sniff(b"hello, I am not a picture").unwrap_err().to_string();
        assert!(text.contains("plain text"), "{text}");
        let html = sniff(b"<html><script>alert(1)</script>")
            .unwrap_err()
            .to_string();
        assert!(html.contains("HTML"), "{html}");
    }

    #[test]
    fn variants_are_never_wider_than_the_original() {
        let processed = process(&jpeg(1100, 700), LIMITS, CENTRE).unwrap();
        let widths: Vec<_> = processed.variants.iter().map(|v| v.width).collect();
        // The widths, then the crops: a 400 square and a social card as wide as the original.
        assert_eq!(widths, [320, 640, 1024, 400, 1100]);
        assert_eq!(processed.variants[4].height, 578);
        assert_eq!(processed.variants[1].height, 407);
        assert_eq!(
            (processed.original.width, processed.original.height),
            (1100, 700)
        );
    }

    #[test]
    fn crops_keep_the_focal_point_and_stay_inside() {
        // A wide image, focus near the right edge: the square is pushed to the edge.
        assert_eq!(crop_region(1000, 500, 1.0, (0.95, 0.5)), (500, 0, 500, 500));
        assert_eq!(crop_region(1000, 500, 1.0, (0.6, 0.5)), (350, 0, 500, 500));
        // A tall one, a social card around a focus near the top.
        let (x, y, w, h) = crop_region(600, 2000, 1200.0 / 630.0, (0.5, 0.1));
        assert_eq!((x, w), (0, 600));
        assert!(y <= 200 && 200 <= y + h && y + h <= 2000, "{y} {h}");
    }

    #[test]
    fn transparent_images_get_png_variants() {
        let img = ImageBuffer::from_fn(700, 300, |x, _| Rgba([0, 0, 0, (x % 256) as u8]));
        let mut png = Vec::new();
        DynamicImage::ImageRgba8(img)
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let processed = process(&png, LIMITS, CENTRE).unwrap();
        assert!(processed.variants.iter().all(|v| v.kind == Kind::Png));
    }

    #[test]
    fn limits_are_checked_before_decoding() {
        let small = Limits {
            max_pixels: 100,
            max_dimension: 16_384,
        };
        assert!(matches!(
            process(&jpeg(20, 20), small, CENTRE),
            Err(ProcessError::TooManyPixels { .. })
        ));
        let narrow = Limits {
            max_pixels: 50_000_000,
            max_dimension: 10,
        };
        assert!(matches!(
            process(&jpeg(20, 5), narrow, CENTRE),
            Err(ProcessError::TooWide { .. })
        ));
    }

    #[test]
    fn truncated_files_are_corrupt() {
        let full = jpeg(64, 64);
        let cut = &full[..full.len() / 2];
        assert!(matches!(
            process(cut, LIMITS, CENTRE),
            Err(ProcessError::Corrupt { .. })
        ));
    }
}
