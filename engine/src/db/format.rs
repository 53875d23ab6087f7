//! The database file: one little-endian binary file, with a checksummed header and
//! section table and one checksummed section per scene.
//!
//! ```text
//! offset        size   field
//! 0             8      magic  b"XLOCDB\0\x01"
//! 8             4      format version (u32) = FORMAT_VERSION (versions from
//!                      OLDEST_READABLE_VERSION on are read)
//! 12            4      section count n (u32)
//! 16            24·n   section table: kind u32 (1 = scene), crc32 u32 of the
//!                      section's bytes, offset u64, length u64
//! 16 + 24·n     4      CRC-32 of bytes 0 .. 16 + 24·n (header and table)
//! 20 + 24·n     …      the sections, contiguous, in table order, ending at the
//!                      end of the file; each is one scene as laid out in `codec`
//! ```
//!
//! Guarantees:
//! - Every byte of a file is covered by the magic, the version or a CRC-32, so a
//!   changed byte is reported as an error, never read as different data.
//! - Reading validates everything (see [`DbError`]) and never panics or allocates
//!   for a count it has not checked against the bytes present.
//! - Writing is atomic: the bytes go to a temporary file in the same folder, which
//!   is synced and then renamed over the target; on failure the temporary file is
//!   removed and an existing file at the target is left as it was.
//! - Values round-trip bit-exactly.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::codec::{Reader, Writer, decode_scene, encode_scene};
use super::crc::crc32;
use super::error::DbError;
use super::model::SceneDatabase;

/// The first 8 bytes of every database file.
pub const MAGIC: [u8; 8] = *b"XLOCDB\0\x01";
/// The format version this build writes (version 2 added the annotated objects
/// of a scene, version 3 the space its reference saw empty).
pub const FORMAT_VERSION: u32 = 3;
/// The oldest format version this build reads.
pub const OLDEST_READABLE_VERSION: u32 = 1;
/// Section kind of a scene.
const KIND_SCENE: u32 = 1;
/// Bytes of one section-table entry.
const ENTRY_BYTES: u64 = 24;
/// Bytes before the section table.
const FIXED_HEADER: u64 = 16;

/// Header length (up to and including the header CRC) for `n` sections.
fn header_len(n: u64) -> u64 {
    FIXED_HEADER + ENTRY_BYTES * n + 4
}

/// Assembles a file from section payloads, computing offsets and checksums.
fn assemble(sections: &[(u32, Vec<u8>)], version: u32) -> Vec<u8> {
    let n = sections.len() as u64;
    let total = header_len(n) + sections.iter().map(|s| s.1.len() as u64).sum::<u64>();
    let mut w = Writer::new();
    w.buf.reserve(usize::try_from(total).unwrap_or(0));
    w.buf.extend_from_slice(&MAGIC);
    w.u32(version);
    w.u32(u32::try_from(n).unwrap_or(u32::MAX));
    let mut offset = header_len(n);
    for (kind, payload) in sections {
        w.u32(*kind);
        w.u32(crc32(payload));
        w.u64(offset);
        w.u64(payload.len() as u64);
        offset += payload.len() as u64;
    }
    let header_crc = crc32(&w.buf);
    w.u32(header_crc);
    for (_, payload) in sections {
        w.buf.extend_from_slice(payload);
    }
    w.buf
}

/// Encodes a database into the bytes of a database file, after
/// [`SceneDatabase::validate`].
pub fn encode_database(db: &SceneDatabase) -> Result<Vec<u8>, DbError> {
    encode_database_as(db, FORMAT_VERSION)
}

/// [`encode_database`] in format `version` (an older one drops what it cannot
/// hold).
pub(crate) fn encode_database_as(db: &SceneDatabase, version: u32) -> Result<Vec<u8>, DbError> {
    db.validate()?;
    if u32::try_from(db.scenes.len()).is_err() {
        return Err(DbError::Invalid("more scenes than a u32 holds".into()));
    }
    let sections: Vec<(u32, Vec<u8>)> = db
        .scenes
        .iter()
        .map(|s| {
            let mut w = Writer::new();
            encode_scene(&mut w, s, version);
            (KIND_SCENE, w.buf)
        })
        .collect();
    Ok(assemble(&sections, version))
}

/// Decodes the bytes of a database file; `path` names the source in errors.
pub fn decode_database(bytes: &[u8], path: &Path) -> Result<SceneDatabase, DbError> {
    let len = bytes.len() as u64;
    let truncated = |expected: u64| DbError::Truncated {
        path: path.to_path_buf(),
        expected,
        found: len,
    };
    let corrupt = |m: String| DbError::corrupt(path, m);
    let magic = bytes.get(..MAGIC.len()).unwrap_or(bytes);
    if magic != &MAGIC[..magic.len()] {
        return Err(DbError::NotADatabase {
            path: path.to_path_buf(),
        });
    }
    if len < FIXED_HEADER {
        return Err(truncated(header_len(0)));
    }
    let mut r = Reader::new(bytes);
    r.take(MAGIC.len()).map_err(corrupt)?;
    let version = r.u32().map_err(corrupt)?;
    if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(DbError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let n = u64::from(r.u32().map_err(corrupt)?);
    let hlen = header_len(n);
    if hlen > len {
        return Err(truncated(hlen));
    }
    // `hlen <= len`, so it fits in usize.
    let table_end = (hlen - 4) as usize;
    let mut entries = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let kind = r.u32().map_err(corrupt)?;
        let crc = r.u32().map_err(corrupt)?;
        let offset = r.u64().map_err(corrupt)?;
        let length = r.u64().map_err(corrupt)?;
        entries.push((kind, crc, offset, length));
    }
    let stored_header_crc = r.u32().map_err(corrupt)?;
    let covered = bytes.get(..table_end).ok_or_else(|| truncated(hlen))?;
    if crc32(covered) != stored_header_crc {
        return Err(DbError::ChecksumMismatch {
            path: path.to_path_buf(),
            section: "header".into(),
        });
    }
    let mut expected_offset = hlen;
    for (i, &(kind, _, offset, length)) in entries.iter().enumerate() {
        if kind != KIND_SCENE {
            return Err(corrupt(format!("section {i} has unknown kind {kind}")));
        }
        if offset != expected_offset {
            return Err(corrupt(format!(
                "section {i} starts at {offset}, expected {expected_offset}"
            )));
        }
        expected_offset = offset
            .checked_add(length)
            .ok_or_else(|| corrupt(format!("section {i} length {length} overflows")))?;
    }
    if expected_offset > len {
        return Err(truncated(expected_offset));
    }
    if expected_offset < len {
        return Err(corrupt(format!(
            "{} bytes after the last section",
            len - expected_offset
        )));
    }
    let mut db = SceneDatabase::new();
    for (i, &(_, crc, offset, length)) in entries.iter().enumerate() {
        // Offsets and lengths were checked to lie within the file.
        let payload = bytes
            .get(offset as usize..(offset + length) as usize)
            .ok_or_else(|| truncated(offset.saturating_add(length)))?;
        if crc32(payload) != crc {
            return Err(DbError::ChecksumMismatch {
                path: path.to_path_buf(),
                section: format!("scene {i}"),
            });
        }
        let scene =
            decode_scene(payload, version).map_err(|m| corrupt(format!("scene {i}: {m}")))?;
        db.add_scene(scene)
            .map_err(|e| corrupt(format!("scene {i}: {e}")))?;
    }
    log::debug!(
        "{}: read {} scenes, {} instances ({} bytes)",
        path.display(),
        db.scenes.len(),
        db.instance_count(),
        len
    );
    Ok(db)
}

/// Reads and validates a database file.
pub fn read_database(path: &Path) -> Result<SceneDatabase, DbError> {
    let bytes = fs::read(path).map_err(|e| DbError::io(path, e))?;
    decode_database(&bytes, path)
}

/// Writes a database file atomically (temporary file in the same folder, fsync,
/// rename). An existing file at `path` is replaced only when everything succeeded.
pub fn write_database(path: &Path, db: &SceneDatabase) -> Result<(), DbError> {
    let bytes = encode_database(db)?;
    write_atomic(path, &bytes, &mut |_| Ok(()))?;
    log::debug!(
        "{}: wrote {} scenes, {} instances ({} bytes)",
        path.display(),
        db.scenes.len(),
        db.instance_count(),
        bytes.len()
    );
    Ok(())
}

impl SceneDatabase {
    /// Reads a database file; see [`read_database`].
    pub fn load(path: &Path) -> Result<SceneDatabase, DbError> {
        read_database(path)
    }

    /// Writes this database atomically; see [`write_database`].
    pub fn save(&self, path: &Path) -> Result<(), DbError> {
        write_database(path, self)
    }
}

/// Points of an atomic write where a test can inject a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The data has been written to the temporary file.
    Written,
    /// The temporary file has been synced; the rename comes next.
    Synced,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn temp_path(path: &Path) -> Result<PathBuf, DbError> {
    let name = path.file_name().ok_or_else(|| {
        DbError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
        )
    })?;
    let unique = format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    Ok(path.with_file_name(unique))
}

fn write_atomic(
    path: &Path,
    bytes: &[u8],
    fault: &mut dyn FnMut(Stage) -> std::io::Result<()>,
) -> Result<(), DbError> {
    let tmp = temp_path(path)?;
    let result = (|| -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        fault(Stage::Written)?;
        f.sync_all()?;
        fault(Stage::Synced)?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        if let Err(rm) = fs::remove_file(&tmp)
            && rm.kind() != std::io::ErrorKind::NotFound
        {
            log::warn!("{}: could not remove temporary file: {rm}", tmp.display());
        }
        return Err(DbError::io(path, e));
    }
    // Make the rename itself durable (best effort: not every platform allows
    // syncing a folder).
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Err(e) = fs::File::open(dir).and_then(|d| d.sync_all()) {
        log::debug!("{}: folder sync after rename failed: {e}", dir.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::model::{DbInstance, Descriptor, OrientedBox, Scene};
    use crate::db::seen_space::SeenSpace;
    use crate::encode::Modality;
    use crate::rng::Rng;
    use nalgebra::{Point3, UnitQuaternion, Vector3};

    fn random_instance(rng: &mut Rng, id: u32, n_points: usize, colours: bool) -> DbInstance {
        let mut p = || {
            Point3::new(
                rng.range(-3.0, 3.0),
                rng.range(-3.0, 3.0),
                rng.range(0.0, 2.5),
            )
        };
        let centroid = p();
        let points: Vec<_> = (0..n_points).map(|_| p()).collect();
        let normals = (0..n_points)
            .map(|_| Vector3::new(rng.range(-1.0, 1.0), rng.range(-1.0, 1.0), 1.0).normalize())
            .collect();
        let colors = if colours {
            (0..n_points)
                .map(|i| [i as u8, (i * 7) as u8, 255 - i as u8])
                .collect()
        } else {
            vec![]
        };
        DbInstance {
            id,
            label: if id.is_multiple_of(2) {
                format!("chair {id}")
            } else {
                String::new()
            },
            centroid,
            bbox: OrientedBox {
                center: centroid,
                half_extents: Vector3::new(rng.range(0.0, 1.0), 0.2, rng.range(0.1, 0.5)),
                rotation: UnitQuaternion::from_euler_angles(
                    rng.range(-3.0, 3.0),
                    rng.range(-1.0, 1.0),
                    rng.range(-3.0, 3.0),
                ),
            },
            descriptors: vec![
                Descriptor {
                    modality: Modality::Point,
                    values: (0..8).map(|_| rng.range(-1.0, 1.0)).collect(),
                },
                Descriptor {
                    modality: Modality::Text,
                    values: (0..3).map(|_| rng.range(-1.0, 1.0)).collect(),
                },
            ],
            points,
            normals,
            colors,
            observations: id * 3,
        }
    }

    fn sample_db(seed: u64, instances: usize, n_points: usize) -> SceneDatabase {
        let mut rng = Rng::new(seed);
        let mut db = SceneDatabase::new();
        let mut a = Scene::new("office — 1", "synthetic seed 1");
        a.metadata.insert("units".into(), "metres".into());
        a.metadata.insert("dataset".into(), "3RScan".into());
        for i in 0..instances {
            a.instances.push(random_instance(
                &mut rng,
                i as u32,
                n_points,
                i.is_multiple_of(2),
            ));
        }
        for i in 0..instances.min(2) {
            a.objects
                .push(random_instance(&mut rng, 100 + i as u32, n_points, true));
        }
        a.structure_points = vec![Point3::new(0.0, 0.0, 0.0), Point3::new(1.0, -0.0, 2.0)];
        a.structure_normals = vec![Vector3::z(), Vector3::x()];
        a.embedding = crate::db::compute_scene_embedding(&a);
        a.seen_space = Some(
            SeenSpace::from_parts(
                Point3::new(-1.0, 0.5, 0.0),
                0.05,
                [3, 2, 2],
                vec![0b1010_0101, 0b1001],
            )
            .unwrap(),
        );
        db.add_scene(a).unwrap();
        db.add_scene(Scene::new("empty", "")).unwrap();
        let mut c = Scene::new("kitchen", "scan");
        c.instances.push(random_instance(&mut rng, 42, 0, false));
        db.add_scene(c).unwrap();
        db
    }

    /// Splits a file into its section payloads (for tests that reseal edits).
    fn payloads(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut r = Reader::new(bytes);
        r.take(12).unwrap();
        let n = r.u32().unwrap();
        let mut out = vec![];
        for _ in 0..n {
            let (_, _, off, len) = (
                r.u32().unwrap(),
                r.u32().unwrap(),
                r.u64().unwrap(),
                r.u64().unwrap(),
            );
            out.push(bytes[off as usize..(off + len) as usize].to_vec());
        }
        out
    }

    fn reseal(payloads: Vec<Vec<u8>>) -> Vec<u8> {
        assemble(
            &payloads
                .into_iter()
                .map(|p| (KIND_SCENE, p))
                .collect::<Vec<_>>(),
            FORMAT_VERSION,
        )
    }

    fn mem() -> &'static Path {
        Path::new("<memory>")
    }

    #[test]
    fn a_version_1_file_reads_without_objects() {
        let db = sample_db(3, 4, 10);
        assert!(!db.scenes[0].objects.is_empty());
        let v1 = encode_database_as(&db, 1).unwrap();
        assert_eq!(u32::from_le_bytes(v1[8..12].try_into().unwrap()), 1);
        let back = decode_database(&v1, mem()).unwrap();
        let mut expected = db.clone();
        expected.scenes.iter_mut().for_each(|s| {
            s.objects.clear();
            s.seen_space = None;
        });
        assert_eq!(back, expected);
        // The current version keeps them; a version-1 file with its version
        // field changed fails its header checksum.
        let v2 = encode_database(&db).unwrap();
        assert_eq!(decode_database(&v2, mem()).unwrap(), db);
        let mut relabelled = v1.clone();
        relabelled[8..12].copy_from_slice(&2u32.to_le_bytes());
        assert!(decode_database(&relabelled, mem()).is_err());
    }

    #[test]
    fn a_version_2_file_reads_without_seen_space_and_a_bad_one_is_refused() {
        let db = sample_db(4, 3, 10);
        assert!(db.scenes[0].seen_space.is_some());
        let v2 = encode_database_as(&db, 2).unwrap();
        let back = decode_database(&v2, mem()).unwrap();
        let mut expected = db.clone();
        expected.scenes.iter_mut().for_each(|s| s.seen_space = None);
        assert_eq!(back, expected);
        let v3 = encode_database(&db).unwrap();
        assert_eq!(decode_database(&v3, mem()).unwrap(), db);
        // The seen space closes scene 0's section: flag, origin, cell, dims, a
        // byte count and 2 bytes of bits.
        let at = |p: &Vec<u8>| p.len() - (1 + 12 + 4 + 12 + 4 + 2);
        let mut bad_flag = payloads(&v3);
        let i = at(&bad_flag[0]);
        assert_eq!(bad_flag[0][i], 1);
        bad_flag[0][i] = 2;
        let err = decode_database(&reseal(bad_flag), mem()).unwrap_err();
        assert!(err.to_string().contains("seen-space flag"), "{err}");
        let mut bad_dims = payloads(&v3);
        let i = at(&bad_dims[0]) + 1 + 16;
        bad_dims[0][i..i + 4].copy_from_slice(&40u32.to_le_bytes());
        let err = decode_database(&reseal(bad_dims), mem()).unwrap_err();
        assert!(err.to_string().contains("needs"), "{err}");
    }

    #[test]
    fn round_trip_in_memory_and_on_disk() {
        let db = sample_db(1, 5, 20);
        let bytes = encode_database(&db).unwrap();
        assert_eq!(&bytes[..8], &MAGIC);
        assert_eq!(decode_database(&bytes, mem()).unwrap(), db);
        // Bit-exact: re-encoding the decoded database gives the same bytes.
        assert_eq!(
            encode_database(&decode_database(&bytes, mem()).unwrap()).unwrap(),
            bytes
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scenes.xloc");
        db.save(&path).unwrap();
        assert_eq!(SceneDatabase::load(&path).unwrap(), db);
        assert_eq!(fs::read(&path).unwrap(), bytes);
        let empty = SceneDatabase::new();
        assert_eq!(
            decode_database(&encode_database(&empty).unwrap(), mem()).unwrap(),
            empty
        );
    }

    #[test]
    fn every_single_byte_change_is_detected() {
        let db = sample_db(2, 2, 3);
        let bytes = encode_database(&db).unwrap();
        assert!(
            bytes.len() < 4096,
            "fixture should stay small ({} bytes)",
            bytes.len()
        );
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                let result = decode_database(&b, mem());
                assert!(result.is_err(), "byte {i} ^ {flip:#x} was not detected");
            }
        }
    }

    #[test]
    fn every_truncation_is_reported_as_truncated() {
        let bytes = encode_database(&sample_db(3, 2, 3)).unwrap();
        for len in 0..bytes.len() {
            match decode_database(&bytes[..len], mem()) {
                Err(DbError::Truncated {
                    found, expected, ..
                }) => {
                    assert_eq!(found, len as u64);
                    assert!(expected > found);
                }
                other => panic!("length {len}: expected Truncated, got {other:?}"),
            }
        }
    }

    #[test]
    fn wrong_magic_and_version_are_reported() {
        let mut bytes = encode_database(&sample_db(4, 1, 1)).unwrap();
        let mut bad = bytes.clone();
        bad[0] = b'Y';
        assert!(matches!(
            decode_database(&bad, mem()),
            Err(DbError::NotADatabase { .. })
        ));
        assert!(matches!(
            decode_database(b"ply\nformat ascii 1.0\n", mem()),
            Err(DbError::NotADatabase { .. })
        ));
        bytes[8..12].copy_from_slice(&4u32.to_le_bytes());
        match decode_database(&bytes, mem()) {
            Err(DbError::UnsupportedVersion {
                found: 4,
                supported: 3,
                ..
            }) => {}
            other => panic!("expected UnsupportedVersion, got {other:?}"),
        }
    }

    #[test]
    fn resealed_structural_damage_is_corrupt_not_a_panic() {
        let db = sample_db(5, 2, 4);
        let bytes = encode_database(&db).unwrap();
        let sections = payloads(&bytes);
        assert_eq!(sections.len(), 3);
        let scene0 = &sections[0];
        // Offset of the first u32 count after the name and source strings.
        let name_len = u32::from_le_bytes(scene0[0..4].try_into().unwrap()) as usize;
        let src_at = 4 + name_len;
        let src_len = u32::from_le_bytes(scene0[src_at..src_at + 4].try_into().unwrap()) as usize;
        let meta_at = src_at + 4 + src_len;

        let expect_corrupt = |payload: Vec<u8>, what: &str| {
            let mut s = sections.clone();
            s[0] = payload;
            match decode_database(&reseal(s), mem()) {
                Err(DbError::Corrupt { message, .. }) => message,
                other => panic!("{what}: expected Corrupt, got {other:?}"),
            }
        };
        // A huge metadata count: rejected before any allocation.
        let mut p = scene0.clone();
        p[meta_at..meta_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let m = expect_corrupt(p, "huge count");
        assert!(m.contains("count"), "{m}");
        // A huge name length.
        let mut p = scene0.clone();
        p[0..4].copy_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
        expect_corrupt(p, "huge name");
        // Invalid UTF-8 in the name.
        let mut p = scene0.clone();
        p[4] = 0xFF;
        assert!(expect_corrupt(p, "utf8").contains("UTF-8"));
        // A NaN in the last structure normal... find the embedding's first value.
        let mut p = scene0.clone();
        let mut at = meta_at + 4;
        for _ in 0..4 {
            let l = u32::from_le_bytes(p[at..at + 4].try_into().unwrap()) as usize;
            at += 4 + l;
        }
        // `at` is now the embedding count; its first value follows.
        p[at + 4..at + 8].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(expect_corrupt(p, "nan").contains("non-finite"));
        // Trailing bytes inside a section.
        let mut p = scene0.clone();
        p.push(0);
        expect_corrupt(p, "trailing");
        // Out-of-order metadata keys.
        let mut p = scene0.clone();
        // Keys are "dataset" then "units"; swap their first letters to break the order.
        let d = p.windows(7).position(|w| w == b"dataset").unwrap();
        p[d] = b'z';
        assert!(expect_corrupt(p, "order").contains("order"));
        // Two scenes with the same name.
        let mut s = sections.clone();
        s[1] = s[0].clone();
        assert!(matches!(
            decode_database(&reseal(s), mem()),
            Err(DbError::Corrupt { .. })
        ));
        // Bytes after the last section.
        let mut b = bytes.clone();
        b.push(0);
        assert!(matches!(
            decode_database(&b, mem()),
            Err(DbError::Corrupt { .. })
        ));
    }

    #[test]
    fn atomic_write_leaves_no_temp_and_keeps_old_file_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.xloc");
        let old = sample_db(6, 1, 2);
        old.save(&path).unwrap();
        let old_bytes = fs::read(&path).unwrap();
        let listing = || {
            let mut v: Vec<String> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(listing(), vec!["db.xloc".to_string()]);

        let new_bytes = encode_database(&sample_db(7, 3, 5)).unwrap();
        for stage in [Stage::Written, Stage::Synced] {
            let err = write_atomic(&path, &new_bytes, &mut |s| {
                if s == stage {
                    Err(std::io::Error::other("injected failure"))
                } else {
                    Ok(())
                }
            })
            .unwrap_err();
            assert!(matches!(err, DbError::Io { .. }));
            assert!(err.to_string().contains("db.xloc"), "{err}");
            assert_eq!(fs::read(&path).unwrap(), old_bytes, "old file clobbered");
            assert_eq!(listing(), vec!["db.xloc".to_string()], "temp file left");
        }
        // An invalid database is refused before the file is touched.
        let mut invalid = sample_db(8, 1, 2);
        invalid.scenes[0].instances[0].centroid.x = f32::NAN;
        assert!(matches!(invalid.save(&path), Err(DbError::Invalid(_))));
        assert_eq!(fs::read(&path).unwrap(), old_bytes);
        // A successful overwrite replaces the file and leaves nothing else.
        write_atomic(&path, &new_bytes, &mut |_| Ok(())).unwrap();
        assert_eq!(fs::read(&path).unwrap(), new_bytes);
        assert_eq!(listing(), vec!["db.xloc".to_string()]);
        // A missing folder is an Io error naming the file.
        let missing = dir.path().join("no/such/dir/db.xloc");
        let err = old.save(&missing).unwrap_err();
        assert!(matches!(err, DbError::Io { .. }) && err.to_string().contains("db.xloc"));
        let err = SceneDatabase::load(&missing).unwrap_err();
        assert!(matches!(err, DbError::Io { .. }) && err.to_string().contains("db.xloc"));
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.xloc");
        let mut bytes = encode_database(&sample_db(9, 1, 2)).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x10;
        fs::write(&path, &bytes).unwrap();
        let err = read_database(&path).unwrap_err();
        assert!(
            matches!(err, DbError::ChecksumMismatch { ref section, .. } if section == "scene 2")
        );
        let msg = err.to_string();
        assert!(
            msg.contains("broken.xloc") && msg.contains("checksum"),
            "{msg}"
        );
    }
}
