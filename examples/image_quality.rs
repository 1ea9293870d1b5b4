//! Bytes and quality of lede's renditions of photos: `image_quality PHOTO...` prints, for
//! every width and crop, each format's size (and its share of the JPEG's) and its luma SSIM
//! against the original resized without loss, so the AVIF and WebP qualities can be chosen
//! to match the JPEG variants'. (Renditions with no JPEG of their size, the original's own
//! width, are left out.) Run by `bench/image-quality`; the photos are yours (none is
//! committed).
// Tools and tests: a failure here should stop with a message, as `expect` does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::collections::BTreeMap;

use image::imageops::FilterType;
use image::{DynamicImage, GrayImage};
use lede::media::process::{self, CENTRE, Encoded, Kind, Limits};

const LIMITS: Limits = Limits {
    max_pixels: 100_000_000,
    max_dimension: 16_384,
};

fn main() {
    let photos: Vec<String> = std::env::args().skip(1).collect();
    if photos.is_empty() {
        eprintln!("usage: image_quality PHOTO.jpg...");
        std::process::exit(2);
    }
    println!(
        "| photo | rendition | JPEG bytes | SSIM | WebP bytes (of JPEG) | SSIM | AVIF bytes (of JPEG) | SSIM |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for path in photos {
        let bytes = std::fs::read(&path).expect("read the photo");
        let original = upright(&bytes);
        let processed = process::process(&bytes, LIMITS, CENTRE).expect("process");
        let modern = process::modern_renditions(&bytes, LIMITS, CENTRE).expect("modern");
        // Each rendition's files by format, keyed by name.
        let mut rows: BTreeMap<(u32, String), Vec<&Encoded>> = BTreeMap::new();
        for encoded in processed.variants.iter().chain(&modern) {
            rows.entry((encoded.width, encoded.name.clone()))
                .or_default()
                .push(encoded);
        }
        let name = std::path::Path::new(&path)
            .file_name()
            .map_or(path.clone(), |n| n.to_string_lossy().into_owned());
        for ((_, rendition), files) in rows {
            let of = |kind: Kind| files.iter().find(|f| f.kind == kind);
            let Some(jpeg) = of(Kind::Jpeg) else { continue };
            let reference = reference(&original, &rendition, jpeg.width, jpeg.height);
            let cell = |file: Option<&&Encoded>| match file {
                Some(file) => {
                    let share = 100.0 * file.bytes.len() as f64 / jpeg.bytes.len() as f64;
                    format!(
                        "{} ({share:.0} %) | {:.4}",
                        file.bytes.len(),
                        ssim(&reference, &luma(file))
                    )
                }
                None => "- | -".into(),
            };
            println!(
                "| {name} | {rendition} {}x{} | {} | {:.4} | {} | {} |",
                jpeg.width,
                jpeg.height,
                jpeg.bytes.len(),
                ssim(&reference, &luma(jpeg)),
                cell(of(Kind::Webp)),
                cell(of(Kind::Avif)),
            );
        }
    }
}

/// The photo decoded and turned as its EXIF orientation says (as lede turns it).
fn upright(bytes: &[u8]) -> DynamicImage {
    use image::ImageDecoder;
    let mut decoder = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .expect("read the photo")
        .into_decoder()
        .expect("decode the photo");
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).expect("decode the photo");
    image.apply_orientation(orientation);
    image
}

/// The original cut and resized as the rendition was, without any encoding loss.
fn reference(original: &DynamicImage, rendition: &str, width: u32, height: u32) -> GrayImage {
    let region = match process::CROPS.iter().find(|(name, ..)| *name == rendition) {
        Some(_) => {
            let aspect = f64::from(width) / f64::from(height);
            let (x, y, w, h) =
                process::crop_region(original.width(), original.height(), aspect, CENTRE);
            original.crop_imm(x, y, w, h)
        }
        None => original.clone(),
    };
    bt601(&region.resize_exact(width, height, FilterType::CatmullRom))
}

/// BT.601 luma, full range: what the AVIF files hold as their Y plane.
fn bt601(image: &DynamicImage) -> GrayImage {
    let rgb = image.to_rgb8();
    GrayImage::from_fn(rgb.width(), rgb.height(), |x, y| {
        let [r, g, b] = rgb.get_pixel(x, y).0.map(f64::from);
        image::Luma([(0.299 * r + 0.587 * g + 0.114 * b)
            .round()
            .clamp(0.0, 255.0) as u8])
    })
}

fn luma(file: &Encoded) -> GrayImage {
    match file.kind {
        Kind::Avif => avif_luma(&file.bytes),
        _ => bt601(&image::load_from_memory(&file.bytes).expect("decode a rendition")),
    }
}

/// The Y plane of an 8-bit AVIF, decoded by rav1d.
fn avif_luma(bytes: &[u8]) -> GrayImage {
    use re_rav1d::dav1d::{Decoder, Error, PlanarImageComponent};
    let avif = avif_parse::read_avif(&mut std::io::Cursor::new(bytes)).expect("AVIF container");
    let mut decoder = Decoder::new().expect("decoder");
    decoder
        .send_data(avif.primary_item.to_vec(), None, None, None)
        .expect("AV1 data");
    let picture = loop {
        match decoder.get_picture() {
            Ok(picture) => break picture,
            Err(Error::Again) => decoder.send_pending_data().expect("AV1 data"),
            Err(error) => panic!("AV1: {error}"),
        }
    };
    let stride = picture.stride(PlanarImageComponent::Y) as usize;
    let plane = picture.plane(PlanarImageComponent::Y);
    GrayImage::from_fn(picture.width(), picture.height(), |x, y| {
        image::Luma([plane[y as usize * stride + x as usize]])
    })
}

/// Mean SSIM over 8x8 windows every 4 pixels (the usual constants).
fn ssim(a: &GrayImage, b: &GrayImage) -> f64 {
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let (w, h) = (a.width().min(b.width()), a.height().min(b.height()));
    let (mut total, mut windows) = (0.0, 0u32);
    for top in (0..h.saturating_sub(8)).step_by(4) {
        for left in (0..w.saturating_sub(8)).step_by(4) {
            let pixels = || {
                (top..top + 8).flat_map(move |y| {
                    (left..left + 8).map(move |x| {
                        (
                            f64::from(a.get_pixel(x, y)[0]),
                            f64::from(b.get_pixel(x, y)[0]),
                        )
                    })
                })
            };
            let (ma, mb) = pixels().fold((0.0, 0.0), |(sa, sb), (pa, pb)| (sa + pa, sb + pb));
            let (ma, mb) = (ma / 64.0, mb / 64.0);
            let (va, vb, cov) = pixels().fold((0.0, 0.0, 0.0), |(va, vb, cov), (pa, pb)| {
                let (da, db) = (pa - ma, pb - mb);
                (va + da * da, vb + db * db, cov + da * db)
            });
            let (va, vb, cov) = (va / 63.0, vb / 63.0, cov / 63.0);
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            windows += 1;
        }
    }
    total / f64::from(windows.max(1))
}
