//! Images as bytes, and their commitment.
//!
//! An image is `height` rows of `width` pixels of `channels` bytes (1: gray, 3: RGB or
//! YCbCr), row-major HWC. Its commitment:
//!
//! ```text
//! R        = clamp(⌊BAND_BYTES / (width·channels)⌋, 1, height)      rows per band
//! band k   = image rows [k·R, min((k+1)·R, height)), its bytes in HWC order
//! word     = 30 consecutive bytes of a band, little-endian (byte j at 2^(8j)); the band's
//!            last word is zero-padded
//! D_k      = Poseidon-commit([DOM_BAND, words of band k…], salt_k)   (`commit`: salt last)
//! H        = Poseidon-hash([DOM_IMG, width, height, channels, R, D_0, …, D_{K−1}])
//! ```
//!
//! `H` is the image's one public value; width, height and channel count are inside it. A
//! band's position is bound by its place in `H`'s list, not inside `D_k`: so the proof of an
//! edit on bands 40–59 is the same circuit as on bands 0–19 (one key for every band strip of
//! an HD image, see `circuit::ImgShape::part`).
//! Thirty bytes (ten RGB pixels, 240 bits) fit a BN254 field element without wrapping.
//! Bands keep the format the same from an 8×8 icon to an HD photo: a proof about part of an
//! image opens only the bands it reads, and the rest of `H` is the other bands' `D_k`.
//! Salts hide the pixels: each band's salt derives from one secret (`salt_k =
//! compress(DOM_SALT, secret, k)`); the secret 0 means every salt is 0, so anyone recomputes
//! the hash of a published image from its pixels.

use super::ImgError;
use halo2_proofs::halo2curves::bn256::Fr;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::Path;

/// Domain of an image hash ("trustml" ‖ 0x10).
pub const DOM_IMG: u64 = 0x7472_7573_746d_6c10;
/// Domain of a band commitment.
pub const DOM_BAND: u64 = 0x7472_7573_746d_6c11;
/// Domain of a band's salt.
pub const DOM_SALT: u64 = 0x7472_7573_746d_6c12;
/// Bytes packed in one field element.
pub const BYTES_PER_WORD: usize = 30;
/// Target bytes of a band (512 words: 4 rows of an HD RGB image, 8 of a 640-wide one). A
/// band is hashed by one sponge, so its size sets the least number of rows of a proof (a
/// band's 257 permutations take 2^15 rows); smaller bands would only lengthen `H`'s list.
pub const BAND_BYTES: usize = 15_360;
/// Largest width or height accepted.
pub const MAX_SIDE: u32 = 1 << 14;

/// An image's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Dims {
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Bytes per pixel: 1 or 3.
    pub channels: u8,
}

impl std::fmt::Display for Dims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}×{}×{}", self.width, self.height, self.channels)
    }
}

impl Dims {
    /// A checked size.
    pub fn new(width: u32, height: u32, channels: u8) -> Result<Self, ImgError> {
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(ImgError::Size(format!(
                "{width}×{height}: width and height must be between 1 and {MAX_SIDE}"
            )));
        }
        if channels != 1 && channels != 3 {
            return Err(ImgError::Size(format!(
                "{channels} channels: only gray (1) and RGB/YCbCr (3) images are supported"
            )));
        }
        Ok(Self {
            width,
            height,
            channels,
        })
    }

    /// Parses `WxH` (3 channels) or `WxHxC`.
    pub fn parse(s: &str) -> Result<Self, ImgError> {
        let parts: Vec<&str> = s.split(['x', 'X', '×']).collect();
        let num = |t: &str| {
            t.trim().parse::<u32>().map_err(|_| {
                ImgError::Size(format!(
                    "'{s}' is not a size: write WIDTHxHEIGHT (e.g. 640x480) or WIDTHxHEIGHTxCHANNELS"
                ))
            })
        };
        match parts.as_slice() {
            [w, h] => Self::new(num(w)?, num(h)?, 3),
            [w, h, c] => Self::new(num(w)?, num(h)?, num(c)? as u8),
            _ => Err(ImgError::Size(format!(
                "'{s}' is not a size: write WIDTHxHEIGHT (e.g. 640x480) or WIDTHxHEIGHTxCHANNELS"
            ))),
        }
    }

    /// Bytes of the image.
    pub fn len(&self) -> usize {
        self.width as usize * self.height as usize * self.channels as usize
    }

    /// Always false (a size has at least one pixel).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of one row.
    pub fn row_bytes(&self) -> usize {
        self.width as usize * self.channels as usize
    }

    /// Rows per band (`R`).
    pub fn band_rows(&self) -> u32 {
        ((BAND_BYTES / self.row_bytes()) as u32).clamp(1, self.height)
    }

    /// Number of bands (`K`).
    pub fn bands(&self) -> usize {
        self.height.div_ceil(self.band_rows()) as usize
    }

    /// The byte range of band `k` in the image.
    pub fn band(&self, k: usize) -> Range<usize> {
        let r = self.band_rows() as usize * self.row_bytes();
        k * r..((k + 1) * r).min(self.len())
    }

    /// The bytes of bands `bands` (a band strip) in the image.
    pub fn bands_range(&self, bands: Range<usize>) -> Range<usize> {
        self.band(bands.start).start..self.band(bands.end - 1).end
    }

    /// The size of the strip of bands `bands`: its bands are this image's bands `bands`
    /// (a strip has the image's rows per band whenever it holds one full band).
    pub fn strip(&self, bands: Range<usize>) -> Dims {
        let r = self.bands_range(bands);
        Dims {
            height: (r.len() / self.row_bytes()) as u32,
            ..*self
        }
    }

    /// The band holding byte `i`.
    pub fn band_of(&self, i: usize) -> usize {
        i / (self.band_rows() as usize * self.row_bytes())
    }

    /// Words of band `k`.
    pub fn band_words(&self, k: usize) -> usize {
        self.band(k).len().div_ceil(BYTES_PER_WORD)
    }

    /// Byte index of `(x, y, c)`.
    pub fn index(&self, x: u32, y: u32, c: u8) -> usize {
        (y as usize * self.width as usize + x as usize) * self.channels as usize + c as usize
    }
}

/// An image: its size and bytes (row-major HWC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Its size.
    pub dims: Dims,
    /// `dims.len()` bytes.
    pub data: Vec<u8>,
}

/// An image's commitment: the band commitments and the hash over them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commitment {
    /// `D_k`.
    pub bands: Vec<Fr>,
    /// `H`.
    pub hash: Fr,
}

/// `[DOM_BAND, words…]`'s words: `bytes` packed 30 per field element, little-endian.
pub fn pack_words(bytes: &[u8]) -> Vec<Fr> {
    bytes
        .chunks(BYTES_PER_WORD)
        .map(|c| {
            let mut repr = [0u8; 32];
            repr[..c.len()].copy_from_slice(c);
            word_of(repr)
        })
        .collect()
}

fn word_of(repr: [u8; 32]) -> Fr {
    use halo2_proofs::halo2curves::ff::PrimeField;
    Fr::from_repr(repr).expect("240 bits are below the modulus")
}

/// The salts of an image's `bands` bands from a secret (`secret = 0`: all zero).
pub fn band_salts(secret: Fr, bands: usize) -> Vec<Fr> {
    if secret == Fr::zero() {
        return vec![Fr::zero(); bands];
    }
    (0..bands)
        .map(|k| trustml_poseidon::compress(Fr::from(DOM_SALT), secret, Fr::from(k as u64)))
        .collect()
}

/// `D_k` of a band holding `bytes`.
pub fn band_commitment(bytes: &[u8], salt: Fr) -> Fr {
    let mut v = vec![Fr::from(DOM_BAND)];
    v.extend(pack_words(bytes));
    trustml_poseidon::commit(&v, salt)
}

/// `H` over band commitments.
pub fn image_hash(dims: &Dims, bands: &[Fr]) -> Fr {
    let mut v = vec![
        Fr::from(DOM_IMG),
        Fr::from(u64::from(dims.width)),
        Fr::from(u64::from(dims.height)),
        Fr::from(u64::from(dims.channels)),
        Fr::from(u64::from(dims.band_rows())),
    ];
    v.extend_from_slice(bands);
    trustml_poseidon::hash(&v)
}

impl Image {
    /// An image of `dims` from its bytes.
    pub fn new(dims: Dims, data: Vec<u8>) -> Result<Self, ImgError> {
        if data.len() != dims.len() {
            return Err(ImgError::Size(format!(
                "{} bytes for a {dims} image, which has {}",
                data.len(),
                dims.len()
            )));
        }
        Ok(Self { dims, data })
    }

    /// The byte at `(x, y, c)`.
    pub fn at(&self, x: u32, y: u32, c: u8) -> u8 {
        self.data[self.dims.index(x, y, c)]
    }

    /// The commitment with per-band `salts` (see [`band_salts`]).
    pub fn commit_with(&self, salts: &[Fr]) -> Commitment {
        assert_eq!(salts.len(), self.dims.bands(), "one salt per band");
        let bands: Vec<Fr> = (0..self.dims.bands())
            .map(|k| band_commitment(&self.data[self.dims.band(k)], salts[k]))
            .collect();
        let hash = image_hash(&self.dims, &bands);
        Commitment { bands, hash }
    }

    /// The commitment under `secret` (0: public).
    pub fn commit(&self, secret: Fr) -> Commitment {
        self.commit_with(&band_salts(secret, self.dims.bands()))
    }

    /// Reads a PNG or JPEG (gray → 1 channel, colour → 3; an alpha channel is refused).
    pub fn read(path: &Path) -> Result<Self, ImgError> {
        let bad = |msg: String| ImgError::File {
            path: path.display().to_string(),
            msg,
        };
        let img = image::ImageReader::open(path)
            .map_err(|e| bad(e.to_string()))?
            .with_guessed_format()
            .map_err(|e| bad(e.to_string()))?
            .decode()
            .map_err(|e| bad(format!("not a PNG or JPEG image ({e})")))?;
        let color = img.color();
        if color.has_alpha() {
            return Err(bad(format!(
                "it has an alpha channel ({color:?}): save it without transparency (flattened RGB or gray)"
            )));
        }
        let (w, h) = (img.width(), img.height());
        let (channels, data) = if color.channel_count() == 1 {
            (1, img.into_luma8().into_raw())
        } else {
            (3, img.into_rgb8().into_raw())
        };
        Self::new(
            Dims::new(w, h, channels).map_err(|e| bad(e.to_string()))?,
            data,
        )
    }

    /// Writes a PNG (lossless: the bytes are the committed ones).
    pub fn write_png(&self, path: &Path) -> Result<(), ImgError> {
        let d = self.dims;
        let color = if d.channels == 1 {
            image::ExtendedColorType::L8
        } else {
            image::ExtendedColorType::Rgb8
        };
        let mut buf = std::io::Cursor::new(Vec::new());
        image::ImageEncoder::write_image(
            image::codecs::png::PngEncoder::new(&mut buf),
            &self.data,
            d.width,
            d.height,
            color,
        )
        .map_err(|e| ImgError::File {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        trustml_kit::fs::write_atomic(path, buf.get_ref()).map_err(|e| ImgError::File {
            path: path.display().to_string(),
            msg: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_pack_thirty_bytes_little_endian() {
        let bytes: Vec<u8> = (1..=31).collect();
        let w = pack_words(&bytes);
        assert_eq!(w.len(), 2);
        assert_eq!(w[1], Fr::from(31));
        let mut expect = Fr::zero();
        for (j, &b) in bytes[..30].iter().enumerate() {
            expect += Fr::from(u64::from(b)) * Fr::from(2).pow_vartime([8 * j as u64]);
        }
        use halo2_proofs::halo2curves::ff::Field;
        assert_eq!(w[0], expect);
    }

    #[test]
    fn bands_cover_the_image() {
        let hd = Dims::new(1280, 720, 3).unwrap();
        assert_eq!((hd.band_rows(), hd.bands()), (4, 180));
        let sd = Dims::new(640, 480, 3).unwrap();
        assert_eq!((sd.band_rows(), sd.bands()), (8, 60));
        let odd = Dims::new(7, 5, 1).unwrap();
        assert_eq!((odd.band_rows(), odd.bands(), odd.band(0)), (5, 1, 0..35));
        let d = Dims::new(5000, 13, 3).unwrap();
        assert_eq!((d.band_rows(), d.bands()), (1, 13));
        assert_eq!(d.band(3), 3 * 15000..4 * 15000);
    }

    #[test]
    fn commitment_binds_pixels_size_and_salt() {
        let d = Dims::new(4, 2, 3).unwrap();
        let img = Image::new(d, (0..24).collect()).unwrap();
        let h = img.commit(Fr::zero()).hash;
        let mut other = img.clone();
        other.data[23] ^= 1;
        assert_ne!(other.commit(Fr::zero()).hash, h);
        let tall = Image::new(Dims::new(2, 4, 3).unwrap(), img.data.clone()).unwrap();
        assert_ne!(tall.commit(Fr::zero()).hash, h);
        assert_ne!(img.commit(Fr::from(7)).hash, h);
        assert_eq!(img.commit(Fr::zero()).hash, img.commit(Fr::zero()).hash);
    }

    #[test]
    fn jpeg_and_png_read_and_alpha_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let rgb: Vec<u8> = (0..8 * 6 * 3).map(|i| (i * 5 % 256) as u8).collect();
        let jpg = dir.path().join("a.jpg");
        let mut buf = std::io::Cursor::new(Vec::new());
        image::ImageEncoder::write_image(
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 95),
            &rgb,
            8,
            6,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
        std::fs::write(&jpg, buf.get_ref()).unwrap();
        let img = Image::read(&jpg).unwrap();
        assert_eq!(img.dims, Dims::new(8, 6, 3).unwrap());
        // PNG is lossless: the bytes come back as written.
        let png = dir.path().join("a.png");
        let orig = Image::new(Dims::new(8, 6, 3).unwrap(), rgb).unwrap();
        orig.write_png(&png).unwrap();
        assert_eq!(Image::read(&png).unwrap(), orig);
        let rgba = dir.path().join("alpha.png");
        let mut buf = std::io::Cursor::new(Vec::new());
        image::ImageEncoder::write_image(
            image::codecs::png::PngEncoder::new(&mut buf),
            &[0u8; 2 * 2 * 4],
            2,
            2,
            image::ExtendedColorType::Rgba8,
        )
        .unwrap();
        std::fs::write(&rgba, buf.get_ref()).unwrap();
        let e = Image::read(&rgba).unwrap_err().to_string();
        assert!(e.contains("alpha channel"), "{e}");
    }

    #[test]
    fn sizes_parse_with_clear_errors() {
        assert_eq!(
            Dims::parse("640x480").unwrap(),
            Dims::new(640, 480, 3).unwrap()
        );
        assert_eq!(Dims::parse("8x8x1").unwrap().channels, 1);
        assert!(Dims::parse("640")
            .unwrap_err()
            .to_string()
            .contains("WIDTHxHEIGHT"));
        assert!(Dims::parse("0x4")
            .unwrap_err()
            .to_string()
            .contains("between"));
        assert!(Dims::parse("4x4x4")
            .unwrap_err()
            .to_string()
            .contains("channels"));
    }
}
