//! Tuning of the change detector (distances in metres, angles in degrees, shares
//! in `[0, 1]`).

/// Tuning of the change detector.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeConfig {
    /// Points of a database instance tested per frame.
    pub visibility_samples: usize,
    /// Most points of a live object handed to the detector (evenly thinned).
    pub max_live_points: usize,
    /// Decisive samples needed for a frame to count as evidence.
    pub min_decisive_samples: u32,
    /// The depth tolerance of an instance's visibility test is at most its
    /// smallest half extent (tight box), but never below this (metres).
    pub min_visibility_tolerance_m: f32,
    /// Frames of see-through evidence before Removed.
    pub min_absent_frames: u32,
    /// Live observations before a live instance takes part (Added, Moved).
    pub min_observations: u32,
    /// Share of live points within `overlap_radius_m` of a database instance for the
    /// two to be the same object in place.
    pub static_overlap: f32,
    /// Radius of the overlap test, metres.
    pub overlap_radius_m: f32,
    /// A live object with less than this share on a database instance is in
    /// place only if moving the instance does not fit it clearly better: at
    /// least `min_moved_in_place_fit` of its points on the moved instance ...
    pub sure_in_place_overlap: f32,
    /// See `sure_in_place_overlap`.
    pub min_moved_in_place_fit: f32,
    /// ... and at least this much more than in place.
    pub moved_in_place_gain: f32,
    /// Minimum descriptor cosine for a Moved association.
    pub min_similarity: f32,
    /// ... or this, for a live object standing partly in the database
    /// object's own place (`near_move_min_overlap`) within reach of a near move
    /// (`near_move_factor`): turned or shifted, it is seen from a new side.
    pub near_min_similarity: f32,
    /// Moved threshold: translation, metres.
    pub moved_translation_m: f32,
    /// Moved threshold: rotation, degrees.
    pub moved_rotation_deg: f32,
    /// Consecutive agreeing decisions before an event fires.
    pub confirmations: u32,
    /// Radius within which a live point counts as explained by the database
    /// (any instance or the room structure), metres.
    pub explain_radius_m: f32,
    /// Added needs at most this share of the live points explained by the database
    /// (a fragment of a mapped object or of a wall is not a new object).
    pub max_explained_for_added: f32,
    /// Added needs the live object at least this thick (half of the smallest
    /// of its tight box extents, [`crate::change::extent`], metres): a flat
    /// piece of something is not known to be a new object.
    pub min_added_half_thickness_m: f32,
    /// Added also needs at least this share of the live points nothing mapped
    /// explains to lie where the scene's reference saw empty space
    /// ([`crate::db::Scene::seen_space`], when the scene has one); so does
    /// Moved, unless nothing mapped leaves any of its points unexplained.
    pub min_seen_empty_for_added: f32,
    /// Moved needs at least this share of the (aligned) database instance covered by
    /// the live object within `explain_radius_m` (a small partial view aligns anywhere).
    pub min_moved_coverage: f32,
    /// A move further than the object's size whose old place was never seen vacated
    /// needs the old place seen occupied in at most this many frames ...
    pub max_present_for_unseen_move: u32,
    /// ... a live-side ICP fitness of at least this ...
    pub min_unseen_move_fit: f32,
    /// ... and at least this share of the database instance covered.
    pub min_unseen_move_coverage: f32,
    /// ... a move of at most this far, metres (far lookalikes are not the object) ...
    pub max_unseen_move_m: f32,
    /// Any Moved needs the database instance and the live object at least this
    /// thick (half of the smallest box extent, metres; a patch of wall or floor is
    /// not an object).
    pub min_half_thickness_m: f32,
    /// ... and no other candidate scoring at least this share of the best one.
    pub unseen_move_margin: f32,
    /// Of the database objects a live object could be, moved, those scoring at
    /// least this share of the best one are alike (lookalikes that fit it about
    /// as well): the one that moved least is taken.
    pub lookalike_margin: f32,
    /// A move of at most this many times the object's largest half extent (or
    /// `near_move_m`, whichever is larger) by a live object standing partly in the
    /// old place (`near_move_min_overlap`) counts as near when that place was seen
    /// occupied: what was seen may be the object itself, so the place need not
    /// have been seen vacated.
    pub near_move_factor: f32,
    /// See `near_move_factor`, metres.
    pub near_move_m: f32,
    /// See `near_move_factor`: share of the live points within `explain_radius_m`
    /// of the database instance's points where it was.
    pub near_move_min_overlap: f32,
    /// A Removed and an Added object pair up as one Moved when their descriptors
    /// agree at least this much ...
    pub pair_min_similarity: f32,
    /// ... and each of their sorted box half extents agree within this factor
    /// (or, for a partial view of the object, none is larger by more than this
    /// factor and at least `pair_min_fragment_fit` of its points lie on the
    /// object's surface once aligned). Likewise a live object whose tight
    /// sorted half extents exceed a database object's by more than this factor
    /// is never that object, moved ([`crate::change::extent`]).
    pub pair_max_size_ratio: f32,
    /// ... or whose tight box holds more than this factor times the database
    /// object's volume (a partial view is smaller; the margin covers a
    /// database object itself seen partially).
    pub pair_max_volume_ratio: f32,
    /// See `pair_max_size_ratio`.
    pub pair_min_fragment_fit: f32,
    /// A database object stood on another when at least this share of its
    /// points lie within the other's tight box grown by `residual_link_m` ...
    pub min_carried_contact: f32,
    /// ... and, its place seen empty, it moved with that object when the
    /// other's move lays at least this share of its points near live points
    /// (a mug on a moved desk); 1.1 or more turns this off.
    pub min_carried_share: f32,
    /// A live object's size (for `pair_max_size_ratio` and
    /// `pair_max_volume_ratio`) leaves out its points within this distance
    /// (metres) of the plane of the nearest mapped structure point (floor or
    /// wall left in the object by the segmentation, a strip of which makes it
    /// look far larger), unless that would leave out half of them; 0 keeps all.
    pub size_plane_margin_m: f32,
    /// A residual piece (no descriptor) smaller than a Removed object pairs
    /// with it as a part of it only when its two larger half extents are at
    /// least this share of the object's.
    pub pair_min_piece_span: f32,
    /// A flat patch (a piece of wall, floor, ceiling, door or window frame) is at
    /// most this thick (smallest half extent, metres) ...
    pub patch_max_half_thickness_m: f32,
    /// ... and at least this wide (largest half extent, metres); such database
    /// instances are never Moved or Removed and such live objects never Moved or
    /// Added.
    pub patch_min_half_extent_m: f32,
    /// Likewise a beam (door or window frame, skirting): both smaller half extents
    /// at most this (metres) ...
    pub beam_max_half_width_m: f32,
    /// ... and the largest at least this (metres).
    pub beam_min_half_length_m: f32,
    /// A live object with at least this share of its points within
    /// `structure_radius_m` of the scene's structure (walls, floor and the large
    /// flat surfaces, which include mapped objects' faces) is neither Moved nor
    /// Added: a piece of wall or a corner, or a mapped surface seen again.
    pub max_structure_share: f32,
    /// See `max_structure_share`, metres.
    pub structure_radius_m: f32,
    /// A residual piece (the points of a live object in place further than
    /// `residual_radius_m` from the database and the structure) is a new object
    /// when its largest connected part (links of at most `residual_link_m`)
    /// has at least `min_residual_points` points ...
    pub residual_radius_m: f32,
    /// See `residual_radius_m`.
    pub residual_link_m: f32,
    /// See `residual_radius_m`.
    pub min_residual_points: usize,
    /// Points a residual piece of a piece of the room (an object standing
    /// against a wall, fused with it) needs.
    pub min_room_residual_points: usize,
    /// A database object aligned with a live one that fits less than this
    /// share of its points is also aligned from quarter turns about its box
    /// axes (an object turned in place).
    pub turn_search_below_fit: f32,
    /// The quarter turns of a (live, database) pair are searched again once
    /// the live object has this many more observations; in between, only the
    /// turn found last is tried.
    pub turn_search_every: u32,
    /// ... is at least this thick (half of its smallest box extent, metres) ...
    pub min_residual_half_thickness_m: f32,
    /// ... and has at most this share of its points inside the box of a
    /// database instance (grown by `residual_radius_m`) where the reference
    /// did not see empty space ...
    pub max_residual_inside: f32,
    /// ... and has less than this share of its points inside the box (grown by
    /// `residual_radius_m`) of the database instance the live object stands
    /// in place of (a larger share is that object turned).
    pub min_residual_own_inside: f32,
    /// A moved object's residual (what it carried along) is taken only when
    /// its database instance, moved, is covered by the live object to at
    /// least this share: a partly matched object's pose is uncertain, and its
    /// leftovers are likely itself.
    pub min_residual_host_coverage: f32,
    /// Least share of a live object's points on a database object for the live
    /// object to stand partly as it (its residual then taken).
    pub partial_host_share: f32,
    /// Least share of that database object's points covered by the live ones;
    /// also the least a live object must cover of a database object whose place
    /// was only ever seen empty to hold it in place.
    pub partial_host_coverage: f32,
    /// Least share of a residual's points a database object moved a short way
    /// must lie on for the residual to be that object moved (no descriptor
    /// to compare: a stricter fit than a live object's).
    pub min_piece_moved_fit: f32,
    /// Least share of that database object's points, so moved, the residual
    /// covers.
    pub min_piece_moved_coverage: f32,
    /// An Added object whose points come within this distance (metres) of an
    /// object already reported Added is a piece of that object: no second event.
    pub added_merge_m: f32,
}

impl Default for ChangeConfig {
    fn default() -> Self {
        ChangeConfig {
            visibility_samples: 64,
            max_live_points: 4000,
            min_decisive_samples: 8,
            min_visibility_tolerance_m: 0.03,
            min_absent_frames: 6,
            min_observations: 5,
            static_overlap: 0.5,
            overlap_radius_m: 0.05,
            sure_in_place_overlap: 0.85,
            min_moved_in_place_fit: 0.8,
            moved_in_place_gain: 0.2,
            min_similarity: 0.85,
            near_min_similarity: 0.7,
            moved_translation_m: 0.05,
            moved_rotation_deg: 1.0,
            confirmations: 3,
            explain_radius_m: 0.08,
            max_explained_for_added: 0.3,
            min_added_half_thickness_m: 0.04,
            min_seen_empty_for_added: 0.5,
            min_moved_coverage: 0.2,
            max_present_for_unseen_move: 2,
            min_unseen_move_fit: 0.75,
            min_unseen_move_coverage: 0.3,
            max_unseen_move_m: 2.0,
            min_half_thickness_m: 0.03,
            unseen_move_margin: 0.9,
            lookalike_margin: 0.9,
            near_move_factor: 2.0,
            near_move_m: 0.75,
            near_move_min_overlap: 0.2,
            pair_min_similarity: 0.75,
            pair_max_size_ratio: 1.6,
            pair_max_volume_ratio: 1.8,
            pair_min_piece_span: 0.4,
            pair_min_fragment_fit: 0.6,
            min_carried_contact: 0.2,
            min_carried_share: 0.6,
            size_plane_margin_m: 0.025,
            patch_max_half_thickness_m: 0.05,
            patch_min_half_extent_m: 0.3,
            beam_max_half_width_m: 0.1,
            beam_min_half_length_m: 0.5,
            max_structure_share: 0.6,
            structure_radius_m: 0.15,
            residual_radius_m: 0.03,
            residual_link_m: 0.05,
            min_residual_points: 10,
            min_room_residual_points: 100,
            turn_search_below_fit: 0.9,
            turn_search_every: 10,
            min_residual_half_thickness_m: 0.015,
            max_residual_inside: 0.5,
            min_residual_own_inside: 0.9,
            min_residual_host_coverage: 0.9,
            partial_host_share: 0.2,
            partial_host_coverage: 0.5,
            min_piece_moved_fit: 0.7,
            min_piece_moved_coverage: 0.35,
            added_merge_m: 0.1,
        }
    }
}
