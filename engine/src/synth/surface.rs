//! Dense surface samples of a scan (structure and every object) with normals,
//! albedo colours and instance ids, for `surface.ply`.
//!
//! Guarantees: about [`SURFACE_DENSITY_PER_M2`] points per square metre (one per
//! 2 cm²), uniform by area; points and normals in the map frame (metres, z up);
//! colours are the unshaded texture albedo; instance 0 is the structure. The
//! samples of each instance come from their own generator stream
//! `(seed, room, scan, instance)`, so the output is deterministic.

use nalgebra::Point3;

use super::mesh::Mesh;
use super::objects::Material;
use super::room::Room;
use super::texture::to_u8;
use crate::frame::{PointCloud, Pose};
use crate::rng::Rng;

/// Surface sampling density, points per square metre.
pub const SURFACE_DENSITY_PER_M2: f32 = 5000.0;

const SURFACE_STREAM: u64 = 0x5355_5246_0000_0000;

fn add(
    cloud: &mut PointCloud,
    mesh: &Mesh,
    materials: &[Material],
    T_map_local: &Pose,
    id: u32,
    density: f32,
    rng: &mut Rng,
) {
    let samples = mesh.sample_surface(density, rng);
    let colors = cloud.colors.get_or_insert_with(Vec::new);
    let normals = cloud.normals.get_or_insert_with(Vec::new);
    let ids = cloud.instance_ids.get_or_insert_with(Vec::new);
    for s in samples {
        let albedo = materials
            .get(s.material as usize)
            .or_else(|| materials.last())
            .map(|m| m.texture.eval(&s.position))
            .unwrap_or([0.5, 0.5, 0.5]);
        cloud.points.push(T_map_local * s.position);
        normals.push(T_map_local.rotation * s.normal);
        colors.push(to_u8(albedo));
        ids.push(id);
    }
}

/// Samples the surface of `room` (scan `scan` of a dataset with seed `seed`) at
/// `density` points per square metre.
pub fn sample_room_surface(room: &Room, seed: u64, scan: usize, density: f32) -> PointCloud {
    let mut cloud = PointCloud {
        colors: Some(Vec::new()),
        normals: Some(Vec::new()),
        instance_ids: Some(Vec::new()),
        ..Default::default()
    };
    let base = SURFACE_STREAM | ((room.index as u64 & 0xFFFF) << 24) | ((scan as u64 & 0xFF) << 16);
    let mut rng = Rng::derive(seed, base);
    add(
        &mut cloud,
        &room.structure.mesh,
        &room.structure.materials,
        &Pose::identity(),
        0,
        density,
        &mut rng,
    );
    for o in &room.objects {
        let mut rng = Rng::derive(seed, base | (o.id as u64 & 0xFFFF));
        add(
            &mut cloud,
            &o.model.mesh,
            &o.model.materials,
            &o.T_map_object,
            o.id,
            density,
            &mut rng,
        );
    }
    cloud
}

/// Centroid of the samples of one instance (`None` when it has none).
pub fn instance_centroid(cloud: &PointCloud, id: u32) -> Option<Point3<f32>> {
    let ids = cloud.instance_ids.as_ref()?;
    let mut sum = nalgebra::Vector3::zeros();
    let mut n = 0usize;
    for (p, &i) in cloud.points.iter().zip(ids) {
        if i == id {
            sum += p.coords;
            n += 1;
        }
    }
    (n > 0).then(|| Point3::from(sum / n as f32))
}
