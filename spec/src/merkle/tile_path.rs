//! C2SP tlog-tiles resource paths, relative to the log's prefix:
//! `tile/<L>/<N>[.p/<W>]` for Merkle tiles and `tile/entries/<N>[.p/<W>]`
//! for entry bundles, with N written in 3-digit groups (`x001/x234/067`).
//!
//! Parsing accepts exactly the paths that encoding produces, so that one
//! resource has one name: a cache or a file store keyed by path can never
//! hold two copies, or serve a tile under a name that aliases another.

use std::fmt;
use std::str::FromStr;

use super::tiles::{EntryBundle, Tile, FULL_WIDTH, MAX_TILE_LEVEL};

/// A resource a tiled log serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TilePath {
    Tile(Tile),
    Entries(EntryBundle),
}

/// Why a string is not a canonical tile path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TilePathError {
    #[error("not a tile path: {0:?}")]
    NotATilePath(String),
    #[error("tile level {0:?} is not a decimal in 0..=63 without leading zeros")]
    Level(String),
    #[error(
        "tile index {0:?} is not canonical 3-digit groups (x001/x234/067) of a 64-bit integer"
    )]
    Index(String),
    #[error("partial width {0:?} is not a decimal in 1..=255 without leading zeros")]
    Width(String),
}

const PARTIAL: &str = ".p/";
/// 2^64 - 1 has 20 digits.
const MAX_GROUPS: usize = 7;

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tile/{}/", self.level())?;
        write_index(f, self.index())?;
        write_width(f, self.width())
    }
}

impl fmt::Display for EntryBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tile/entries/")?;
        write_index(f, self.index())?;
        write_width(f, self.width())
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TilePath::Tile(tile) => tile.fmt(f),
            TilePath::Entries(bundle) => bundle.fmt(f),
        }
    }
}

fn write_index(f: &mut fmt::Formatter<'_>, index: u64) -> fmt::Result {
    let mut groups = [0u16; MAX_GROUPS];
    let mut count = 0;
    let mut rest = index;
    for group in groups.iter_mut() {
        *group = (rest % 1000) as u16;
        count += 1;
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    let mut most_significant_first = groups[..count].iter().rev();
    if let Some(last) = most_significant_first.next_back() {
        for group in most_significant_first {
            write!(f, "x{group:03}/")?;
        }
        write!(f, "{last:03}")?;
    }
    Ok(())
}

fn write_width(f: &mut fmt::Formatter<'_>, width: u16) -> fmt::Result {
    if width == FULL_WIDTH {
        Ok(())
    } else {
        write!(f, "{PARTIAL}{width}")
    }
}

impl FromStr for TilePath {
    type Err = TilePathError;

    fn from_str(path: &str) -> Result<Self, TilePathError> {
        let not_a_path = || TilePathError::NotATilePath(path.to_owned());
        let rest = path.strip_prefix("tile/").ok_or_else(not_a_path)?;
        let (kind, rest) = rest.split_once('/').ok_or_else(not_a_path)?;
        // Index groups hold only digits and `x`, so the first ".p/" is the
        // partial marker.
        let (index, width) = match rest.split_once(PARTIAL) {
            Some((index, width)) => (index, parse_width(width)?),
            None => (rest, FULL_WIDTH),
        };
        let index = parse_index(index)?;
        // Validity was checked above, so construction cannot fail; map any
        // failure to the part that would have caused it all the same.
        if kind == "entries" {
            EntryBundle::new(index, width)
                .map(TilePath::Entries)
                .map_err(|_| TilePathError::Width(width.to_string()))
        } else {
            let level = parse_level(kind)?;
            Tile::new(level, index, width)
                .map(TilePath::Tile)
                .map_err(|_| TilePathError::Level(kind.to_owned()))
        }
    }
}

/// A decimal with no sign, no leading zero (but "0") and at most 3 digits.
fn parse_small_decimal(text: &str) -> Option<u16> {
    let canonical = !text.is_empty()
        && text.len() <= 3
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

fn parse_level(text: &str) -> Result<u8, TilePathError> {
    parse_small_decimal(text)
        .filter(|level| *level <= u16::from(MAX_TILE_LEVEL))
        .and_then(|level| u8::try_from(level).ok())
        .ok_or_else(|| TilePathError::Level(text.to_owned()))
}

/// A partial width: full tiles carry no `.p/` suffix, so 256 is refused.
fn parse_width(text: &str) -> Result<u16, TilePathError> {
    parse_small_decimal(text)
        .filter(|width| (1..FULL_WIDTH).contains(width))
        .ok_or_else(|| TilePathError::Width(text.to_owned()))
}

fn parse_index(text: &str) -> Result<u64, TilePathError> {
    let bad = || TilePathError::Index(text.to_owned());
    let groups: Vec<&str> = text.split('/').collect();
    let Some((last, leading)) = groups.split_last() else {
        return Err(bad());
    };
    if groups.len() > MAX_GROUPS {
        return Err(bad());
    }
    let three_digits = |group: &str| group.len() == 3 && group.bytes().all(|b| b.is_ascii_digit());
    let mut index: u64 = 0;
    for (position, group) in leading.iter().enumerate() {
        let digits = group
            .strip_prefix('x')
            .filter(|d| three_digits(d))
            .ok_or_else(bad)?;
        // A leading zero group would give one index two names.
        if position == 0 && digits == "000" {
            return Err(bad());
        }
        index = push_group(index, digits).ok_or_else(bad)?;
    }
    if !three_digits(last) {
        return Err(bad());
    }
    push_group(index, last).ok_or_else(bad)
}

fn push_group(index: u64, digits: &str) -> Option<u64> {
    let group: u64 = digits.parse().ok()?;
    index.checked_mul(1000)?.checked_add(group)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(level: u8, index: u64, width: u16) -> TilePath {
        TilePath::Tile(Tile::new(level, index, width).expect("valid tile"))
    }

    fn bundle(index: u64, width: u16) -> TilePath {
        TilePath::Entries(EntryBundle::new(index, width).expect("valid bundle"))
    }

    #[test]
    fn encodes_as_the_spec_writes() {
        assert_eq!(tile(0, 1_234_067, 256).to_string(), "tile/0/x001/x234/067");
        assert_eq!(tile(2, 0, 1).to_string(), "tile/2/000.p/1");
        assert_eq!(tile(63, 1000, 255).to_string(), "tile/63/x001/000.p/255");
        assert_eq!(bundle(5, 256).to_string(), "tile/entries/005");
        assert_eq!(bundle(999_000, 8).to_string(), "tile/entries/x999/000.p/8");
        assert_eq!(
            tile(0, u64::MAX, 256).to_string(),
            "tile/0/x018/x446/x744/x073/x709/x551/615"
        );
    }

    #[test]
    fn parses_canonical_paths() {
        for path in [
            tile(0, 1_234_067, 256),
            tile(1, 0, 17),
            tile(63, u64::MAX, 256),
            bundle(273, 112),
            bundle(0, 256),
        ] {
            assert_eq!(path.to_string().parse(), Ok(path));
        }
    }

    #[test]
    fn refuses_non_canonical_paths() {
        for bad in [
            "",
            "tile",
            "tile/",
            "tile/0",
            "tile/0/",
            "/tile/0/000",
            "tiles/0/000",
            "tile/00/000",
            "tile/01/000",
            "tile/64/000",
            "tile/+1/000",
            "tile/-0/000",
            "tile/ 1/000",
            "tile/1000/000",
            "tile/data/000",
            "tile/Entries/000",
            "tile/0/0",
            "tile/0/00",
            "tile/0/0000",
            "tile/0/x000/001",
            "tile/0/x001",
            "tile/0/001/002",
            "tile/0/x01/002",
            "tile/0/X001/002",
            "tile/0/x001/x002",
            "tile/0/x001//002",
            "tile/0/+01",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tile/0/x001/x018/x446/x744/x073/x709/x551/615",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/01",
            "tile/0/000.p/",
            "tile/0/000.p",
            "tile/0/000.p/1/",
            "tile/0/000.p/1.p/1",
            "tile/0/000/",
            "tile/0/000.P/1",
            "tile/entries/000.p/300",
            "tile/entries/x000/000",
            "tile/entries",
            "tile/entries/",
            "tile/0/000\n",
        ] {
            assert!(bad.parse::<TilePath>().is_err(), "{bad:?} was accepted");
        }
    }
}
