//! Oriented rectangles on the floor plane (object footprints) and the tests the
//! layout uses: overlap (separating axes), containment in a floor plan, and
//! containment in a support's top.
//!
//! Units are metres in the map frame's xy plane (z up).

use nalgebra::{Point2, Vector2};

use super::objects::ObjectModel;
use super::room::FloorPlan;
use crate::frame::Pose;

/// An oriented rectangle in the map's xy plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Footprint {
    /// Centre, map frame.
    pub centre: Point2<f32>,
    /// Half-extents along the rectangle's own axes.
    pub half: Vector2<f32>,
    /// Rotation of the rectangle's x axis from the map x axis, radians.
    pub yaw: f32,
}

/// Yaw (rotation about map z) of a pose, radians.
pub fn yaw_of(T: &Pose) -> f32 {
    let x = T.rotation * nalgebra::Vector3::x();
    x.y.atan2(x.x)
}

impl Footprint {
    /// The footprint of `model`'s bounding box placed at `T_map_object`.
    pub fn of(model: &ObjectModel, T_map_object: &Pose) -> Footprint {
        let (c, h) = model.footprint_local();
        let centre = T_map_object * nalgebra::Point3::new(c[0], c[1], 0.0);
        Footprint {
            centre: Point2::new(centre.x, centre.y),
            half: Vector2::new(h[0], h[1]),
            yaw: yaw_of(T_map_object),
        }
    }

    /// The rectangle's unit axes `(x, y)` in the map frame.
    pub fn axes(&self) -> (Vector2<f32>, Vector2<f32>) {
        let (s, c) = self.yaw.sin_cos();
        (Vector2::new(c, s), Vector2::new(-s, c))
    }

    /// The four corners, counter-clockwise.
    pub fn corners(&self) -> [Point2<f32>; 4] {
        let (ax, ay) = self.axes();
        let (hx, hy) = (ax * self.half.x, ay * self.half.y);
        [
            self.centre - hx - hy,
            self.centre + hx - hy,
            self.centre + hx + hy,
            self.centre - hx + hy,
        ]
    }

    /// Points along the boundary, at most `step` apart (corners included).
    pub fn boundary_samples(&self, step: f32) -> Vec<Point2<f32>> {
        let c = self.corners();
        let mut out = Vec::new();
        for i in 0..4 {
            let (a, b) = (c[i], c[(i + 1) % 4]);
            let n = (((b - a).norm() / step.max(1e-3)).ceil() as usize).max(1);
            for k in 0..n {
                out.push(a + (b - a) * (k as f32 / n as f32));
            }
        }
        out
    }

    /// True when the rectangles, each grown by `margin / 2` on every side, overlap.
    pub fn overlaps(&self, other: &Footprint, margin: f32) -> bool {
        let (a1, a2) = self.axes();
        let (b1, b2) = other.axes();
        let d = other.centre - self.centre;
        let ha = self.half + Vector2::repeat(margin * 0.5);
        let hb = other.half + Vector2::repeat(margin * 0.5);
        for axis in [a1, a2, b1, b2] {
            let ra = ha.x * a1.dot(&axis).abs() + ha.y * a2.dot(&axis).abs();
            let rb = hb.x * b1.dot(&axis).abs() + hb.y * b2.dot(&axis).abs();
            if d.dot(&axis).abs() > ra + rb {
                return false;
            }
        }
        true
    }

    /// True when `p` is inside the rectangle grown by `margin`.
    pub fn contains_point(&self, p: Point2<f32>, margin: f32) -> bool {
        let (ax, ay) = self.axes();
        let d = p - self.centre;
        d.dot(&ax).abs() <= self.half.x + margin && d.dot(&ay).abs() <= self.half.y + margin
    }

    /// True when all of this rectangle lies inside `outer` shrunk by `margin`.
    pub fn inside(&self, outer: &Footprint, margin: f32) -> bool {
        self.corners()
            .iter()
            .all(|&c| outer.contains_point(c, -margin))
    }

    /// True when the rectangle lies on the floor at least `margin` from every wall.
    pub fn fits_in_plan(&self, plan: &FloorPlan, margin: f32) -> bool {
        self.boundary_samples(0.1)
            .into_iter()
            .all(|p| plan.contains_with_margin(p, margin))
            && plan
                .outline
                .iter()
                .all(|&v| !self.contains_point(v, margin))
    }

    /// This footprint turned by 180° about the map origin.
    pub fn turned(&self) -> Footprint {
        Footprint {
            centre: Point2::new(-self.centre.x, -self.centre.y),
            half: self.half,
            yaw: self.yaw + std::f32::consts::PI,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_and_containment() {
        let a = Footprint {
            centre: Point2::new(0.0, 0.0),
            half: Vector2::new(1.0, 0.5),
            yaw: 0.0,
        };
        let mut b = a;
        b.centre.x = 2.05;
        assert!(!a.overlaps(&b, 0.0));
        assert!(a.overlaps(&b, 0.1));
        b.yaw = 0.7;
        b.centre.x = 1.3;
        assert!(a.overlaps(&b, 0.0));
        let plan = FloorPlan::l_shape(6.0, 6.0, 2.5, 2.5);
        let mut low = a;
        low.centre.y = -1.0;
        assert!(low.fits_in_plan(&plan, 0.1));
        assert!(!a.fits_in_plan(&plan, 0.1), "touches the notch wall");
        let corner = Footprint {
            centre: Point2::new(0.5, 0.5),
            half: Vector2::new(0.8, 0.8),
            yaw: 0.0,
        };
        assert!(
            !corner.fits_in_plan(&plan, 0.0),
            "covers the notch's corner"
        );
        let small = Footprint {
            centre: Point2::new(0.2, 0.1),
            half: Vector2::new(0.1, 0.1),
            yaw: 0.3,
        };
        assert!(small.inside(&a, 0.05));
        assert!(!a.inside(&small, 0.0));
    }
}
