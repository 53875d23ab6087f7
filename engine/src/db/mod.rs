//! The prebuilt scene database that live observations are matched against: the
//! data model ([`model`]), its checksummed binary file format ([`format`]) and the
//! search structures over it ([`search`] for descriptor and scene-embedding
//! search, [`spatial`] for k-d tree queries within a scene).
//!
//! Guarantees: everything is in the database's map frame, in metres; reading a
//! file validates it completely and fails with a [`DbError`] naming the file
//! instead of panicking; writing is atomic; searches are exact and their results
//! sorted deterministically.
//!
//! ```
//! use crossloc::db::{EmbeddingIndex, Scene, SceneDatabase};
//! use crossloc::encode::Modality;
//!
//! let mut db = SceneDatabase::new();
//! db.add_scene(Scene::new("office", "example")).unwrap();
//! let bytes = crossloc::db::encode_database(&db).unwrap();
//! let back = crossloc::db::decode_database(&bytes, "<memory>".as_ref()).unwrap();
//! assert_eq!(back, db);
//! let index = EmbeddingIndex::build(&db, Modality::Point).unwrap();
//! assert!(index.is_empty());
//! ```

pub mod build;
mod codec;
mod crc;
pub mod error;
pub mod format;
mod kernel;
pub mod model;
pub mod objects;
pub mod search;
pub mod seen_space;
pub mod spatial;

pub use error::DbError;
pub use format::{
    FORMAT_VERSION, MAGIC, decode_database, encode_database, read_database, write_database,
};
pub use model::{
    DbInstance, Descriptor, InstanceIdx, LAYOUT_DIMS, OrientedBox, Scene, SceneDatabase, SceneIdx,
    compute_scene_embedding,
};
pub use search::{EmbeddingIndex, Hit};
pub use seen_space::{SeenSpace, SeenSpaceBuilder};
pub use spatial::{SceneSpatialIndex, SurfaceHit, SurfaceOwner};
