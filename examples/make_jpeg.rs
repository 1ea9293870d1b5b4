//! Writes a photo-like JPEG of a given size, for benchmarks: `make_jpeg OUT WIDTH HEIGHT [SEED]`.
// Tools and tests: a failure here should stop with a message, as `expect` does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use image::codecs::jpeg::JpegEncoder;
use image::{ImageBuffer, Rgb};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(out), Some(width), Some(height)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: make_jpeg OUT WIDTH HEIGHT [SEED]");
        std::process::exit(2);
    };
    let width: u32 = width.parse().expect("width");
    let height: u32 = height.parse().expect("height");
    let seed: u32 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1);
    // Smooth gradients plus per-pixel noise: compresses like a photograph, not like a flat fill.
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let img = ImageBuffer::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state % 24) as u8;
        Rgb([
            ((x * 255 / width) as u8).saturating_add(noise),
            ((y * 255 / height) as u8).saturating_add(noise / 2),
            (((x + y + seed) % 256) as u8).saturating_sub(noise),
        ])
    });
    let mut file = std::io::BufWriter::new(std::fs::File::create(out).expect("create output"));
    JpegEncoder::new_with_quality(&mut file, 90)
        .encode_image(&img)
        .expect("encode");
}
