//! GET /api/map: the map of the served generation (`retrieve::map`), computed in the background the
//! first time it is asked for when `curator map` has not cached it (202 Accepted until it is ready), and
//! kept in memory while that generation is served.

use std::sync::{Arc, Mutex};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::error::RETRY_AFTER_SECONDS;
use super::{AppError, AppState};
use crate::index::{generation_name, Generation};
use crate::retrieve::map::{self, CollectionMap, Projection, COORDINATE_SCALE};

/// The map of one generation, or the generation whose map is being computed.
#[derive(Default)]
pub struct Maps {
    /// Shared with the thread that computes a map.
    state: Arc<Mutex<MapState>>,
}

#[derive(Default)]
struct MapState {
    ready: Option<Arc<CollectionMap>>,
    /// The generation a background computation is working on.
    computing: Option<String>,
    /// Why the last computation failed, and for which generation: told instead of starting again.
    failed: Option<(String, String)>,
}

impl Maps {
    /// The map of `generation`: from memory or from its cache file; when neither has it, None while a
    /// background thread computes it.
    fn get(&self, generation: &Arc<Generation>, hnsw: &crate::config::HnswSettings) -> Result<Option<Arc<CollectionMap>>, AppError> {
        let name = generation_name(&generation.dir);
        let lock = || self.state.lock().map_err(|_| AppError::Internal("map lock poisoned".into()));
        {
            let state = lock()?;
            if let Some(ready) = state.ready.as_ref().filter(|m| m.generation == name) {
                return Ok(Some(Arc::clone(ready)));
            }
            if state.computing.as_deref() == Some(name.as_str()) {
                return Ok(None);
            }
        }
        // Read before a failure is told: `curator map` may have written it since.
        if let Some(cached) = map::cached(generation)? {
            let cached = Arc::new(cached);
            let mut state = lock()?;
            state.ready = Some(Arc::clone(&cached));
            state.failed = None;
            return Ok(Some(cached));
        }
        let mut state = lock()?;
        if let Some((_, why)) = state.failed.as_ref().filter(|(g, _)| *g == name) {
            return Err(AppError::Internal(format!("the map of this index could not be computed ({why}); `curator map` says why")));
        }
        if state.computing.is_some() {
            return Ok(None);
        }
        state.computing = Some(name.clone());
        drop(state);
        let generation = Arc::clone(generation);
        let hnsw = hnsw.clone();
        let shared = Arc::clone(&self.state);
        std::thread::spawn(move || {
            tracing::info!("computing the map of {name}");
            // A panic inside a library (umap-rs panics on input it does not expect) must not leave the
            // map "being computed" for ever.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| map::compute(&generation, &hnsw)))
                .unwrap_or_else(|_| Err(crate::retrieve::SearchError::Map("the layout computation panicked".into())));
            if let Ok(done) = &result {
                // Unsaved, the map still serves until the server stops.
                if let Err(e) = map::save(&generation, done) {
                    tracing::warn!("the map of {name} is not cached: {e}");
                }
            }
            let Ok(mut state) = shared.lock() else { return };
            state.computing = None;
            match result {
                Ok(done) => {
                    tracing::info!("the map of {name} is ready ({} records)", done.ids.len());
                    state.ready = Some(Arc::new(done));
                }
                Err(e) => {
                    tracing::error!("the map of {name} could not be computed: {e}");
                    state.failed = Some((name, e.to_string()));
                }
            }
        });
        Ok(None)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapQuery {
    #[serde(default)]
    pub projection: Option<Projection>,
}

/// GET /api/map?projection=umap|pca: every record's place (integers 0..=65535 on each axis), source and
/// group, and each group's label, size and centre. UMAP by default when the collection has one. While the
/// map is being computed: 202 Accepted with Retry-After (the request started the work, or it is under way).
pub async fn map(State(state): State<Arc<AppState>>, query: Result<Query<MapQuery>, QueryRejection>) -> Result<Response, AppError> {
    let Query(MapQuery { projection }) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let generation = state.generation()?;
    let worker = Arc::clone(&state);
    let Some(collection) = tokio::task::spawn_blocking(move || worker.maps.get(&generation, &worker.curator.settings.hnsw))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??
    else {
        let body = serde_json::json!({ "status": "computing",
            "message": "the map of this index is being computed (every record placed by its embedding); ask again in a few seconds" });
        return Ok((StatusCode::ACCEPTED, [(header::RETRY_AFTER, RETRY_AFTER_SECONDS)], Json(body)).into_response());
    };
    let projection = projection.unwrap_or(if collection.umap.is_some() { Projection::Umap } else { Projection::Pca });
    let layout = collection.layout(projection).ok_or_else(|| {
        AppError::BadRequest(format!("this collection has {} records, too few for a UMAP layout: ask for projection=pca", collection.ids.len()))
    })?;
    let quantise = |v: &[f32]| -> Vec<u16> { v.iter().map(|a| (a.clamp(0.0, 1.0) * COORDINATE_SCALE).round() as u16).collect() };
    let (x, y) = (quantise(&layout.x), quantise(&layout.y));
    let clusters: Vec<serde_json::Value> = collection
        .clusters
        .iter()
        .enumerate()
        .map(|(c, cluster)| {
            let members: Vec<usize> = collection.cluster.iter().enumerate().filter(|(_, g)| **g as usize == c).map(|(i, _)| i).collect();
            let centre = |axis: &[u16]| members.iter().map(|&i| axis[i] as f64).sum::<f64>() / members.len().max(1) as f64;
            serde_json::json!({ "label": cluster.label, "size": cluster.size, "x": centre(&x).round(), "y": centre(&y).round() })
        })
        .collect();
    let mut projections = vec!["pca"];
    if collection.umap.is_some() {
        projections.push("umap");
    }
    Ok(Json(serde_json::json!({
        "generation": collection.generation,
        "embedding": collection.embedding,
        "projection": projection,
        "projections": projections,
        "records": collection.ids.len(),
        "scale": COORDINATE_SCALE as u32,
        "ids": collection.ids,
        "x": x,
        "y": y,
        "sources": collection.sources,
        "source": collection.source,
        "cluster": collection.cluster,
        "clusters": clusters,
    }))
    .into_response())
}
